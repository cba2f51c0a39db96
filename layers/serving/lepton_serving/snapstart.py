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
from typing import TYPE_CHECKING, Any

import numpy as np

from . import clients
from .errors import LeptonError
from .protocol import dumps

if TYPE_CHECKING:
    from .app import Handler



def register(handler: Handler) -> bool:
    """Register this handler's hooks with the runtime; False where the hooks library is absent."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not in Lambda's runtime (a local run): nothing will snapshot this process
        return False
    register_before_snapshot(before_snapshot, handler)
    register_after_restore(after_restore, handler)
    return True


def before_snapshot(handler: Handler) -> None:
    """Load the model and answer its first golden request, so the snapshot holds a warm session."""
    handler.warm()
    model = handler.plane.model
    if not model.ready or model.manifest is None or not model.manifest.golden:
        return
    try:
        handler.plane.infer(model.name, dumps({"id": "snapstart-warm-up", "inputs": warm_up_tensors(model)}))
    except LeptonError as exc:  # a model that cannot answer its golden input fails per request instead
        handler.telemetry.logger.warning("warm-up request refused", extra={"reason": exc.message})
    # The warm-up is not traffic: its latencies must not be the restored environment's first metrics.
    handler.telemetry.metrics.clear_metrics()


def after_restore(handler: Handler) -> None:
    """Renew what a snapshot shares between environments: random state, AWS clients, backoff."""
    random.seed()  # from os.urandom
    np.random.seed()  # the legacy global generator, from the OS too
    clients.reset()
    handler.plane.forget_failures()


def warm_up_tensors(model: Any) -> list[dict[str, Any]]:
    """The manifest's first golden example as V2 input tensors of the function's public signature."""
    example = model.manifest.golden[0]
    if example.request:
        return example.request
    return [{"name": spec.name, "datatype": spec.datatype, "shape": _shape(example.inputs[spec.name]),
             "data": example.inputs[spec.name]} for spec in model.inputs if spec.name in example.inputs]


def _shape(data: Any) -> list[int]:
    shape = []
    while isinstance(data, list):
        shape.append(len(data))
        data = data[0] if data else None
    return shape
