"""The generic friendly answer, built for all rows at once, equals the plain per-row answer byte for byte."""
from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from lepton_serving.errors import InvalidTensor
from lepton_serving.friendly import encode, plain
from lepton_serving.manifest import TensorSpec
from lepton_serving.protocol import decode_rows

LABELS = ["low", "mid", "high"]


def plain_per_row(outputs: dict[str, np.ndarray], labels: list[str] | None, rows: int) -> dict[str, Any]:
    """Row by row: one argmax, one dict and one conversion per row and output."""
    batched = {n: a for n, a in outputs.items() if a.ndim >= 1 and a.shape[0] == rows}
    scores = next((n for n, a in batched.items() if labels and a.ndim == 2 and a.shape[1] == len(labels)
                   and a.dtype.kind == "f"), None)
    if scores is None and len(outputs) == 1:
        return {"predictions": plain(next(iter(outputs.values())))}
    entries = []
    for i in range(rows):
        entry: dict[str, Any] = {}
        if scores is not None:
            row = batched[scores][i]
            best = int(row.argmax())
            entry = {"label": labels[best], "score": float(row[best]),
                     "probabilities": dict(zip(labels, map(float, row)))}
        for name, array in batched.items():
            if name != scores:
                entry.setdefault(name, plain(array[i]))
        entries.append(entry)
    result: dict[str, Any] = {"predictions": entries}
    rest = {n: plain(a) for n, a in outputs.items() if n not in batched}
    if rest:
        result["outputs"] = rest
    return result


def outputs_for(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Scores, plus the outputs a converted classifier carries: labels as ints and strings, extras."""
    rng = np.random.default_rng(seed)
    scores = rng.random((rows, len(LABELS)), dtype=np.float32)
    scores[rng.random(rows) < 0.2] = 0.5  # ties: argmax takes the first
    words = np.array([rng.choice(["ok", "no"]) for _ in range(rows)], dtype=object)
    words[::3] = [b"raw bytes"] * len(words[::3])
    return {"probabilities": scores, "label": rng.integers(0, 3, rows).astype(np.int64),
            "word": words, "embedding": rng.standard_normal((rows, 2, 2)).astype(np.float16),
            "calibration": np.array([0.25, 0.5, 0.75], np.float32)}


@pytest.mark.parametrize("rows", [1, 3, 64])
@pytest.mark.parametrize(
    "pick",
    [
        ("probabilities",),  # labelled scores alone
        ("probabilities", "label", "word", "embedding", "calibration"),  # with every other kind of output
        ("label", "word"),  # no scores: named values per row
        ("embedding",),  # one output, no labels to match: its rows as they are
        ("probabilities", "calibration"),
    ],
)
def test_answers_for_every_row_are_the_plain_per_row_answers_byte_for_byte(rows, pick):
    outputs = {name: array for name, array in outputs_for(rows, seed=rows).items() if name in pick}
    for labels in (LABELS, None):
        assert orjson.dumps(encode(outputs, labels, rows)) == orjson.dumps(plain_per_row(outputs, labels, rows))


def test_the_tabular_functions_64_answers_are_the_plain_per_row_answers_of_its_own_session(tabular):
    tabular.warm()
    model = tabular.plane.model
    rows = np.random.default_rng(0).normal(size=(64, 3)).round(3).tolist()
    inputs = model.decode_predict(model.read_predict({"instances": rows}))
    outputs = model(inputs)  # the served onnxruntime session
    answer = model.encode_predict(outputs, model.read_predict({"instances": rows}))
    assert orjson.dumps(answer) == orjson.dumps(plain_per_row(outputs, model.labels, 64))
    assert answer["predictions"][0]["label"] in model.labels


@pytest.mark.parametrize("rows", [[[[1, 2], [3, True]]], [[[1.5, 2.0]], [[False, 0.0]]], [[0, 1, True]]])
def test_a_json_boolean_anywhere_among_the_numbers_of_rows_is_refused(rows):
    depth = np.asarray(rows).ndim
    spec = TensorSpec("x", "FP32", [-1] * depth)
    with pytest.raises(InvalidTensor, match="only numbers for FP32, not true/false"):
        decode_rows(spec, rows)


def test_rows_of_numbers_nested_three_deep_decode_to_their_tensor():
    rows = np.random.default_rng(1).integers(0, 17, (32, 8, 8)).tolist()
    tensor = decode_rows(TensorSpec("image", "FP32", [-1, 8, 8]), rows)
    assert tensor.dtype == np.float32 and tensor.tolist() == rows
