"""Batch scoring: one direct invocation (no API Gateway) scores a batch of rows.

Step Functions' Distributed Map (template.yaml, BatchStateMachine) reads the rows of an S3
object, groups them (ItemBatcher) and invokes the model function's pinned version with

    {"lepton_batch": {"format": "jsonl" | "csv",
                      "items": [{"index": 0, "row": {...}}, ...]}}

Each row is judged exactly as the online routes judge a request of that one row: the rows go
through the function's own HTTP boundary (`Handler.answer`: envelope, routes, the status table),
so a bad row gets the status and message the API would give it, and never fails the batch.

- **V2 form**: a row whose keys (besides an optional "id") are the model's V2 input names, each
  holding that row's value, e.g. ``{"features": [13.0, 0.12, 22.0]}``. Its answer is the V2
  response's outputs for that one row. Rows of this form are sent as one V2 request per
  `max_batch` rows (the fast path); only when that request is refused is each row asked alone,
  to find which rows are bad.
- **Friendly form**: any other object is the friendly route's body for one row (for example
  ``{"text": "..."}`` is V2 form for sentiment, whose V2 input is `text`, while
  ``{"user_id": 7, "k": 3}`` is friendly form for the recommender). Its answer is the friendly
  response. Each friendly row is one request.
- **CSV**: every value arrives as text. Columns named by the manifest's feature names become the
  one input's vector; columns named by the V2 inputs are read as JSON for numeric inputs (``7``,
  ``[1, 2]``) and kept as text for BYTES inputs.

The answer, one JSON line per row in input order, each with its line number, the model version
and the function version, and either ``outputs`` / ``prediction`` or ``error`` {status, message}:

    {"rows": n, "errors": e, "part": "part-000000000001.jsonl", "body": "<JSON Lines>"}

Count in equals count out, or the invocation raises. A refusal that is our fault (5xx: the model
cannot load, a bug) raises too, so Step Functions retries the batch instead of recording it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import InvalidRequest
from .routes import Response

KEY = "lepton_batch"
FORMATS = ("jsonl", "csv")
#: Lines before the first row: CSV's header.
HEADER_LINES = {"jsonl": 0, "csv": 1}

#: One request through the function's boundary: (method, path, JSON body) -> its response.
Answer = Callable[[str, str, bytes], Response]


class BatchFailed(RuntimeError):
    """The batch cannot be scored for a reason that is not one row's: Step Functions retries it."""


@dataclass(frozen=True)
class Signature:
    """What the loaded model takes, as the rows are read against it."""

    model: str
    version: str
    inputs: dict[str, tuple[str, list[int]]]  # name -> (V2 datatype, shape)
    feature_names: list[str]
    max_batch: int


@dataclass(frozen=True)
class Item:
    line: int
    id: Any
    form: str  # "v2", "friendly" or "invalid"
    values: Any  # V2 form: {input: value}; friendly: the body; invalid: the message


def is_batch_event(event: Any) -> bool:
    return isinstance(event, dict) and KEY in event


def score(event: dict[str, Any], signature: Signature, answer: Answer, function_version: str) -> dict[str, Any]:
    """The batch event -> one answer line per row (see the module's description)."""
    request = event.get(KEY)
    if not isinstance(request, dict) or not isinstance(request.get("items"), list):
        raise BatchFailed(f'a batch event is {{"{KEY}": {{"format": "jsonl", "items": [{{"index": 0, "row": {{...}}}}]}}}}')
    fmt = request.get("format", "jsonl")
    if fmt not in FORMATS:
        raise BatchFailed(f"unknown batch format {fmt!r}; one of {', '.join(FORMATS)}")
    items = [read_item(raw, fmt, signature) for raw in request["items"]]
    answers: dict[int, dict[str, Any]] = {}
    v2 = [i for i in items if i.form == "v2"]
    for start in range(0, len(v2), signature.max_batch):
        answers.update(_score_v2(v2[start:start + signature.max_batch], signature, answer))
    for item in items:
        if item.form == "friendly":
            answers[item.line] = _one(answer, f"/models/{signature.model}/predict", orjson.dumps(item.values), "prediction")
        elif item.form == "invalid":
            answers[item.line] = {"error": {"status": 400, "message": item.values}}
    lines = [_line(item, answers[item.line], signature, function_version) for item in items]
    if len(lines) != len(request["items"]):
        raise BatchFailed(f"{len(request['items'])} rows in, {len(lines)} answers out")
    first = items[0].line if items else 0
    return {"rows": len(lines), "errors": sum("error" in a for a in answers.values()),
            "part": f"part-{first:012d}.jsonl", "body": b"".join(orjson.dumps(x) + b"\n" for x in lines).decode()}


def read_item(raw: Any, fmt: str, signature: Signature) -> Item:
    """One Map item ({index, row}) read against the model's signature; never raises for a bad row."""
    if not isinstance(raw, dict) or type(raw.get("index")) is not int:
        raise BatchFailed('each batch item is {"index": <position in the object>, "row": <the row>}')
    line = raw["index"] + 1 + HEADER_LINES[fmt]
    row = raw.get("row")
    if not isinstance(row, dict):
        return Item(line, None, "invalid", "a row must be a JSON object; see docs/batch.md for the two forms")
    if fmt == "jsonl" and row.keys() == signature.inputs.keys():  # the common case, without copying the row
        return Item(line, None, "v2", row)
    row_id = row.get("id")
    fields = {k: v for k, v in row.items() if k != "id"}
    try:
        if fmt == "csv":
            return Item(line, row_id, "v2", _csv_row(fields, signature))
    except InvalidRequest as exc:
        return Item(line, row_id, "invalid", exc.message)
    if fields and set(fields) == set(signature.inputs):
        return Item(line, row_id, "v2", fields)
    return Item(line, row_id, "friendly", fields)


def _csv_row(cells: Mapping[str, Any], signature: Signature) -> dict[str, Any]:
    columns = set(cells)
    if signature.feature_names and len(signature.inputs) == 1 and columns == set(signature.feature_names):
        (name,) = signature.inputs
        return {name: [_number(cells[f], f) for f in signature.feature_names]}
    if columns == set(signature.inputs):
        return {name: cells[name] if signature.inputs[name][0] == "BYTES" else _json_cell(cells[name], name)
                for name in signature.inputs}
    expected = signature.feature_names if len(signature.inputs) == 1 and signature.feature_names else list(signature.inputs)
    raise InvalidRequest(f"the CSV columns {sorted(columns)} are not this model's: its header is "
                         f"{', '.join(expected)} (and optionally id)")


def _number(cell: Any, column: str) -> float:
    try:
        return float(cell)
    except (TypeError, ValueError):
        raise InvalidRequest(f"column '{column}': {str(cell)[:40]!r} is not a number") from None


def _json_cell(cell: Any, column: str) -> Any:
    try:
        return orjson.loads(cell)
    except (TypeError, orjson.JSONDecodeError):
        raise InvalidRequest(f"column '{column}': {str(cell)[:40]!r} is not a number or a JSON list") from None


def _score_v2(items: list[Item], signature: Signature, answer: Answer) -> dict[int, dict[str, Any]]:
    """V2-form rows as one request; if it is refused, each row alone (its own status and message)."""
    path = f"/v2/models/{signature.model}/infer"
    response = answer("POST", path, orjson.dumps(_v2_request([i.values for i in items], signature)))
    if response.status == 200:
        return dict(zip((i.line for i in items), _split(_body(response)["outputs"], len(items))))
    if response.status >= 500:
        raise BatchFailed(f"the model refused the batch: {response.status} {_body(response).get('error')}")
    return {i.line: _one(answer, path, orjson.dumps(_v2_request([i.values], signature)), "outputs") for i in items}


def _v2_request(rows: list[dict[str, Any]], signature: Signature) -> dict[str, Any]:
    """Rows of V2 form as one V2 request: each input's values stacked along the batch dimension."""
    inputs = []
    for name, (datatype, _) in signature.inputs.items():
        values = [row[name] for row in rows]
        inputs.append({"name": name, "datatype": datatype, "shape": [len(values), *_shape(values[0])],
                       "data": values})
    return {"inputs": inputs}


def _shape(value: Any) -> list[int]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def _split(outputs: list[dict[str, Any]], rows: int) -> Iterable[dict[str, Any]]:
    """A V2 response's outputs for `rows` rows -> each row's outputs, as a one-row request gets them."""
    per_row = []
    for output in outputs:
        shape, data = output["shape"], output["data"]
        width = len(data) // rows if rows else 0
        per_row.append([{**output, "shape": [1, *shape[1:]], "data": data[i * width:(i + 1) * width]}
                        for i in range(rows)])
    return ({"outputs": [column[i] for column in per_row]} for i in range(rows))


def _one(answer: Answer, path: str, body: bytes, field: str) -> dict[str, Any]:
    """One row, one request: its answer, or its refusal."""
    response = answer("POST", path, body)
    payload = _body(response)
    if response.status >= 500:
        raise BatchFailed(f"the model refused a row: {response.status} {payload.get('error')}")
    if response.status != 200:
        return {"error": {"status": response.status, "message": payload.get("error", "")}}
    if field == "outputs":
        return {"outputs": payload["outputs"]}
    return {"prediction": {k: v for k, v in payload.items() if k not in ("model_name", "model_version")}}


def _body(response: Response) -> dict[str, Any]:
    try:
        payload = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return {"error": str(response.body)[:200]}
    return payload if isinstance(payload, dict) else {"error": "unexpected answer"}


def _line(item: Item, answer: dict[str, Any], signature: Signature, function_version: str) -> dict[str, Any]:
    head: dict[str, Any] = {"line": item.line}
    if item.id is not None:
        head["id"] = item.id
    return {**head, "model": signature.model, "model_version": signature.version,
            "function_version": function_version, **answer}
