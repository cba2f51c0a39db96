"""Pre-traffic verification: a new function version answers the manifest's golden requests
through its own handler, as API Gateway calls it, before any traffic moves to it: on the V2
route (outputs within the manifest's tolerance) and on the friendly route, in its generic rows
form, which every model's friendly route reads, or as texts for a model that takes text (a 200).

The gate ran the model file under onnxruntime; this runs the exact code, configuration and
model that will serve (the published version, by qualifier), so a model the function cannot
set up (a bad preprocessing value, a signature its code does not read) is refused here, never
answered with a 503 to users. The version is called as lepton_deploy/invoke.py calls it: through
the Lambda API, or in-process where Lambda cannot run code (the local stack, lepton/local/lambda_api.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from lepton_deploy.errors import Rejected
from lepton_deploy.invoke import Invoker, answer_of, infer_event, request_event
from lepton_serving.manifest import Manifest
from lepton_serving.origin import PRE_TRAFFIC


@dataclass(frozen=True)
class VerifyReport:
    requests: int
    max_error: float


def verify(invoke: Invoker, function_name: str, qualifier: str, manifest: Manifest) -> VerifyReport:
    """Send every golden example to the version's V2 infer route, then to its friendly route;
    refuse on any difference."""
    where = f"version {manifest.version} (function version {qualifier})"
    worst = 0.0
    for index, example in enumerate(manifest.golden):
        inputs = _golden_tensors(manifest, example)
        event = infer_event(manifest.name, {"id": f"pre-traffic-{index}", "inputs": inputs}, PRE_TRAFFIC)
        status, body = answer_of(invoke(function_name, qualifier, event))
        if status != 200:
            raise Rejected("pre_traffic", f"{where} answered golden request {index} with {status}: {_reason(body)}; "
                                          "nothing was moved")
        outputs = {o.get("name"): o for o in body.get("outputs") or []}
        for name, expected in example.outputs.items():
            if name not in outputs:
                raise Rejected("pre_traffic", f"{where} answered golden request {index} without output '{name}'")
            error = _difference(outputs[name], expected)
            worst = max(worst, error)
            if error > manifest.golden_tolerance:
                raise Rejected("pre_traffic", f"{where} answered golden request {index}, output '{name}', with a "
                                              f"max abs difference of {error:.3g}, above the tolerance "
                                              f"{manifest.golden_tolerance:g}; nothing was moved")
        event = request_event(f"/models/{manifest.name}/predict", friendly_rows(inputs), PRE_TRAFFIC)
        status, body = answer_of(invoke(function_name, qualifier, event))
        if status != 200:
            raise Rejected("pre_traffic", f"{where} answered golden request {index} on its friendly route "
                                          f"(/models/{manifest.name}/predict) with {status}: {_reason(body)}; "
                                          "nothing was moved")
    return VerifyReport(len(manifest.golden), worst)


def friendly_rows(tensors: list[dict[str, Any]]) -> dict[str, Any]:
    """V2 input tensors as the friendly route's generic rows: {"instances": [row, ...]} for one
    input, each row an object of every input for several (lepton_serving/friendly.py); a model
    that takes text (one BYTES tensor `text`) reads {"texts": [...]}."""
    columns = {t["name"]: np.asarray(t["data"], dtype=object).reshape(t["shape"]).tolist() for t in tensors}
    if len(tensors) == 1 and tensors[0]["name"] == "text" and tensors[0].get("datatype") == "BYTES":
        return {"texts": np.asarray(tensors[0]["data"], dtype=object).ravel().tolist()}
    if len(columns) == 1:
        return {"instances": next(iter(columns.values()))}
    names = list(columns)
    return {"instances": [dict(zip(names, row)) for row in zip(*columns.values())]}


def _golden_tensors(manifest: Manifest, example: Any) -> list[dict[str, Any]]:
    """The example's V2 tensors: its public-signature request, else its graph inputs."""
    return example.request or [_tensor(spec.name, spec.datatype, example.inputs[spec.name])
                                for spec in manifest.inputs if spec.name in example.inputs]


def _reason(body: dict[str, Any]) -> str:
    return str(body.get("error") or body.get("message") or str(body)[:200])


def _tensor(name: str, datatype: str, data: list) -> dict[str, Any]:
    array = np.asarray(data, dtype=object if datatype == "BYTES" else None)
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": array.ravel().tolist()}


def _difference(output: dict[str, Any], expected: list) -> float:
    got, want = np.asarray(output.get("data"), dtype=object), np.asarray(expected, dtype=object).ravel()
    if got.size != want.size:
        return float("inf")
    try:
        return float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)), initial=0.0))
    except (TypeError, ValueError):  # strings, labels: equal or not
        return 0.0 if [str(v) for v in got] == [str(v) for v in want] else float("inf")
