"""The generic friendly route: plain JSON rows for any ONNX signature, labelled answers out.

What the default Model speaks on ``POST /models/<name>/predict``, so a model needs no code of
its own to have one:

- one input: ``{"instances": [row, ...]}``, each row one batch entry of that input;
- several inputs: ``{"inputs": {"<name>": [row, ...], ...}}`` (columns), or
  ``{"instances": [{"<name>": row, ...}, ...]}`` (rows);
- a model that takes text (text.py): ``{"texts": ["...", ...]}``, or ``{"text": "..."}``;
- the answer: one entry per row. With labels and an output that is a score vector (one score
  per label), the entry is ``{"label", "score", "probabilities": {label: score}}``; the other
  outputs follow by name. With labels for several score outputs (per-output labels), each of
  them is such an object under its own name. Without, a single output gives its rows, several
  give an object of named rows per entry.

The first dimension of every input and output is the batch; `protocol.decode_rows` checks the
rest against the signature.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidRequest
from .manifest import TensorSpec
from .protocol import decode_rows


def read_rows(doc: Any, specs: list[TensorSpec]) -> list:
    """The request's rows, nothing converted: values (one input) or {input: value} objects."""
    names = [s.name for s in specs]
    several = len(specs) > 1
    if not isinstance(doc, dict):
        raise InvalidRequest(_expected(names))
    if isinstance(doc.get("instances"), list):
        rows = doc["instances"]
        if several:
            for index, row in enumerate(rows):
                _check_named(row, names, f"instance {index}")
        return rows
    columns = doc.get("inputs")
    if isinstance(columns, dict):
        _check_named(columns, names, "'inputs'")
        lengths = {name: len(col) if isinstance(col, list) else None for name, col in columns.items()}
        bad = [name for name, n in lengths.items() if n is None]
        if bad:
            raise InvalidRequest(f"input '{bad[0]}' must be a list with one entry per row")
        if len(set(lengths.values())) > 1:
            raise InvalidRequest(f"the inputs disagree on the number of rows: {lengths}")
        if not several:
            return columns[names[0]]
        return [{name: columns[name][i] for name in names} for i in range(lengths[names[0]])]
    if isinstance(columns, list):
        raise InvalidRequest(f"this is the friendly route, which takes plain rows: {_expected(names)}. "
                             "A V2 request ({\"inputs\": [{name, shape, datatype, data}]}) goes to "
                             "/v2/models/<name>/infer")
    raise InvalidRequest(_expected(names))


def read_texts(doc: dict[str, Any]) -> list[str]:
    """``{"texts": [...]}`` or ``{"text": "..."}``: the texts, one per row."""
    if ("text" in doc) == ("texts" in doc) or len(doc) != 1:
        raise InvalidRequest('send {"texts": ["...", ...]} or {"text": "..."}, and nothing else')
    texts = [doc["text"]] if "text" in doc else doc["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequest('"texts" must be a list of strings, one per row')
    return texts


def decode(rows: list, specs: list[TensorSpec]) -> dict[str, np.ndarray]:
    """Rows -> one V2 input tensor per spec, each [len(rows), *the row's shape], checked."""
    if len(specs) == 1:
        return {specs[0].name: decode_rows(specs[0], rows)}
    return {spec.name: decode_rows(spec, [row[spec.name] for row in rows]) for spec in specs}


def encode(outputs: dict[str, np.ndarray], labels: list[str] | None, rows: int,
           output_labels: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Outputs -> {"predictions": [one entry per row]}; outputs without the batch dimension go
    under "outputs"."""
    batched = {n: a for n, a in outputs.items() if a.ndim >= 1 and a.shape[0] == rows}
    labelled = {n: output_labels[n] for n in batched if output_labels and n in output_labels
                and _scores_for(batched[n], output_labels[n])}
    if len(labelled) == 1:  # one labelled output: the flat form, as with one list of labels
        labels = next(iter(labelled.values()))
        batched = {n: batched[n] for n in (*labelled, *(n for n in batched if n not in labelled))}
    elif labelled:
        return _each_labelled(outputs, batched, labelled, rows)
    scores = next((n for n, a in batched.items() if labels and _scores_for(a, labels)), None)
    if scores is None and len(outputs) == 1:
        return {"predictions": plain(next(iter(outputs.values())))}
    # Each output is converted to Python values once, for all rows (numpy's tolist), not row by row.
    entries: list[dict[str, Any]] = [{} for _ in range(rows)]
    if scores is not None:
        matrix, names = batched[scores], labels or []
        entries = [{"label": names[best], "score": row[best], "probabilities": dict(zip(names, row))}
                   for row, best in zip(matrix.tolist(), matrix.argmax(axis=1).tolist())]
    for name, array in batched.items():
        if name != scores:
            for entry, value in zip(entries, plain(array)):
                entry.setdefault(name, value)  # a label from the labels file wins over the graph's
    result: dict[str, Any] = {"predictions": entries}
    rest = {n: plain(a) for n, a in outputs.items() if n not in batched}
    if rest:
        result["outputs"] = rest
    return result


def _each_labelled(outputs: dict[str, np.ndarray], batched: dict[str, np.ndarray],
                   labelled: dict[str, list[str]], rows: int) -> dict[str, Any]:
    """Several labelled score outputs: each becomes {"label", "score", "probabilities"} under its name."""
    entries: list[dict[str, Any]] = [{} for _ in range(rows)]
    for name, array in batched.items():
        if name in labelled:
            names = labelled[name]
            for entry, row, best in zip(entries, array.tolist(), array.argmax(axis=1).tolist()):
                entry[name] = {"label": names[best], "score": row[best], "probabilities": dict(zip(names, row))}
        else:
            for entry, value in zip(entries, plain(array)):
                entry[name] = value
    result: dict[str, Any] = {"predictions": entries}
    rest = {n: plain(a) for n, a in outputs.items() if n not in batched}
    if rest:
        result["outputs"] = rest
    return result


def plain(value: Any) -> Any:
    """An array (or one of its rows) as JSON values: strings for STRING tensors, never bytes."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return np.vectorize(_text, otypes=[object])(value).tolist() if value.size else value.tolist()
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return _text(value)


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _scores_for(array: np.ndarray, labels: list[str]) -> bool:
    return array.ndim == 2 and array.shape[1] == len(labels) and array.dtype.kind == "f"


def _check_named(row: Any, names: list[str], where: str) -> None:
    if not isinstance(row, dict):
        raise InvalidRequest(f"{where} must be an object with one entry per input: {', '.join(names)}")
    missing = [n for n in names if n not in row]
    unknown = [n for n in row if n not in names]
    if missing or unknown:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
                   ([f"unknown {', '.join(map(str, unknown))}"] if unknown else [])
        raise InvalidRequest(f"{where}: {'; '.join(problems)}; this model takes {', '.join(names)}")


def _expected(names: list[str]) -> str:
    if len(names) == 1:
        return 'send {"instances": [...]}, one entry per row'
    columns = ", ".join(f'"{n}": [...]' for n in names)
    return f'send {{"inputs": {{{columns}}}}}, one entry per row in each list'
