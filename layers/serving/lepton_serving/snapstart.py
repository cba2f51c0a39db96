"""Lambda SnapStart runtime hooks for a model function (template parameter SnapStart).

With SnapStart on, Lambda runs a version's init phase once, when the version is published,
snapshots the execution environment's memory and disk, and starts new environments by
restoring that snapshot. So what init leaves behind is shared by every environment restored
from it. Before the snapshot, the model is loaded and answers one golden request, so the
session, its first-run allocations and every lazy import on the request path are in the
snapshot. After each restore, what must be unique to an environment or fresh is renewed:

- the random generators (`random` and numpy's global one) are reseeded from the OS, or every
  restored environment would draw the same "random" numbers (the generator family draws noise
  from seeds; its own unseeded requests take their seed from `secrets`, which reads the OS);
- cached boto3 clients are dropped, with the credentials and connections they hold;
- the load backoff is forgotten (it is timed by a clock the snapshot froze).

Hooks are registered only when Lambda says it is initialising for a snapshot
(AWS_LAMBDA_INITIALIZATION_TYPE=snap-start); `snapshot_restore_py` ships with the runtime.
"""
from __future__ import annotations

import random
from typing import Any, Protocol

import numpy as np

from . import clients
from .manifest import V2_TO_NUMPY
from .protocol import dumps


class Warmable(Protocol):
    """What the hooks need of a model function's handler (app.py's ``Handler``), named here so
    this module does not import the one that imports it."""

    plane: Any
    telemetry: Any

    def warm(self) -> None: ...


def register(handler: Warmable) -> bool:
    """Register this handler's hooks with the runtime; False where the hooks library is absent."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not in Lambda's runtime (a local run): nothing will snapshot this process
        return False
    register_before_snapshot(before_snapshot, handler)
    register_after_restore(after_restore, handler)
    return True


def before_snapshot(handler: Warmable) -> None:
    """Load the model and answer its first golden example, so the snapshot holds a warm session."""
    handler.warm()
    model = handler.plane.model
    if not model.ready or model.manifest is None or not model.manifest.golden:
        return
    try:
        tensors = warm_up_tensors(model)
        if tensors:  # the whole request path: decode, pre-processing, session, encode
            handler.plane.infer(model.name, dumps({"id": "snapstart-warm-up", "inputs": tensors}))
        else:  # a public signature the example does not cover: the session alone, on the graph's inputs
            model.predict(graph_feed(model))
    except Exception as exc:  # noqa: BLE001 - a warm-up is best effort; a model that cannot answer fails per request
        handler.telemetry.logger.warning("warm-up request refused", extra={"reason": str(exc)[:300]})
    # The warm-up is not traffic: its latencies must not be the restored environment's first metrics.
    handler.telemetry.metrics.clear_metrics()


def after_restore(handler: Warmable) -> None:
    """Renew what a snapshot shares between environments: random state, AWS clients, backoff."""
    random.seed()  # from os.urandom
    np.random.seed()  # the legacy global generator, from the OS too
    clients.reset()
    handler.plane.forget_failures()


def warm_up_tensors(model: Any) -> list[dict[str, Any]]:
    """The manifest's first golden example as V2 input tensors of the function's public signature;
    empty when the example has no request and the graph's inputs are not the public ones."""
    example = model.manifest.golden[0]
    if example.request:
        return example.request
    if any(spec.name not in example.inputs for spec in model.inputs):
        return []
    return [{"name": spec.name, "datatype": spec.datatype, "shape": _shape(example.inputs[spec.name]),
             "data": example.inputs[spec.name]} for spec in model.inputs]


def graph_feed(model: Any) -> dict[str, np.ndarray]:
    """The first golden example as the ONNX graph's feed."""
    example = model.manifest.golden[0]
    return {spec.name: np.asarray(example.inputs[spec.name], dtype=V2_TO_NUMPY[spec.datatype])
            for spec in model.manifest.inputs}


def _shape(data: Any) -> list[int]:
    shape = []
    while isinstance(data, list):
        shape.append(len(data))
        data = data[0] if data else None
    return shape
