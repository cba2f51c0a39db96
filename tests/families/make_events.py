"""Regenerate events/digits, events/sentiment, events/recommender and events/generator with lepton.local.http_events.http_event.

    PYTHONPATH=.:tests:tests/families .venv/bin/python tests/families/make_events.py

Ids and times are fixed (like events/tabular) so the files only change when a request does.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from drawings import drawn_seven, png_bytes
from lepton.local.http_events import http_event

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "curl/8.5.0"}
# sklearn's load_digits().images[0] (a 0) and [1] (a 1), so the events need no download to read.
ZERO = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
        [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
        [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]]
ONE = [[0, 0, 0, 12, 13, 5, 0, 0], [0, 0, 0, 11, 16, 9, 0, 0], [0, 0, 3, 15, 16, 6, 0, 0],
       [0, 7, 15, 16, 16, 2, 0, 0], [0, 0, 1, 16, 16, 3, 0, 0], [0, 0, 1, 16, 16, 6, 0, 0],
       [0, 0, 1, 16, 16, 6, 0, 0], [0, 0, 0, 11, 16, 10, 0, 0]]


def event(model: str, name: str, method: str, path: str, body: object = None) -> None:
    headers = dict(HEADERS)
    raw = b""
    if body is not None:
        headers = {"content-type": "application/json", **HEADERS}
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    built = http_event(method, path, f"{method} {path}", headers=headers, body=raw,
                       source_ip="203.0.113.7", api_id="abc123")
    built["requestContext"]["requestId"] = f"evt-{name}"
    built["requestContext"]["time"] = "26/Nov/2026:12:00:00 +0000"
    built["requestContext"]["timeEpoch"] = 1795694400000
    out = ROOT / "events" / model / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(built, indent=2, ensure_ascii=False) + "\n")


def v2(model: str) -> None:
    event(model, "metadata", "GET", f"/v2/models/{model}")
    event(model, "ready", "GET", f"/v2/models/{model}/ready")


def digits() -> None:
    infer, predict = "/v2/models/digits/infer", "/models/digits/predict"
    seven = base64.b64encode(png_bytes(drawn_seven())).decode()
    v2("digits")
    event("digits", "infer", "POST", infer,
          {"id": "req-1", "inputs": [{"name": "image", "shape": [2, 8, 8], "datatype": "FP32", "data": [ZERO, ONE]}]})
    event("digits", "infer-bad-range", "POST", infer,
          {"inputs": [{"name": "image", "shape": [1, 8, 8], "datatype": "FP32",
                       "data": [[[v * 16 for v in row] for row in ZERO]]}]})
    event("digits", "predict-image", "POST", predict, {"image": seven, "k": 3})
    event("digits", "predict-pixels", "POST", predict, {"pixels": ZERO})
    event("digits", "predict-instances", "POST", predict, {"instances": [ZERO, ONE], "k": 2})
    event("digits", "predict-bad-base64", "POST", predict, {"image": "not base64!"})
    event("digits", "predict-not-an-image", "POST", predict,
          {"image": base64.b64encode(b"GIF89a, or any other bytes that are not PNG or JPEG").decode()})


def sentiment() -> None:
    infer, predict = "/v2/models/sentiment/infer", "/models/sentiment/predict"
    v2("sentiment")
    event("sentiment", "infer", "POST", infer,
          {"id": "req-1", "inputs": [{"name": "text", "shape": [2], "datatype": "BYTES",
                                      "data": ["I loved this movie!", "The plot was boring and the acting awful."]}]})
    event("sentiment", "infer-wrong-datatype", "POST", infer,
          {"inputs": [{"name": "text", "shape": [1, 12], "datatype": "INT64", "data": [[2, 3, 4, 5] + [0] * 8]}]})
    event("sentiment", "predict", "POST", predict, {"text": "Great fun, I loved it."})
    event("sentiment", "predict-batch", "POST", predict,
          {"texts": ["What a great movie!", "Awful. I hated the plot.", "It was not bad"]})
    event("sentiment", "predict-empty", "POST", predict, {"text": "  !!! "})


def recommender() -> None:
    infer, predict = "/v2/models/recommender/infer", "/models/recommender/predict"
    v2("recommender")
    event("recommender", "infer", "POST", infer,
          {"id": "req-1", "inputs": [{"name": "user_id", "shape": [2], "datatype": "INT64", "data": [7, 42]}]})
    event("recommender", "infer-unknown-user", "POST", infer,
          {"inputs": [{"name": "user_id", "shape": [1], "datatype": "INT64", "data": [100000]}]})
    event("recommender", "predict", "POST", predict, {"user_id": 7, "k": 5, "exclude": [3, 11]})
    event("recommender", "predict-users", "POST", predict, {"user_ids": [7, 42], "k": 3})
    event("recommender", "predict-unknown-user", "POST", predict, {"user_id": -1})
    event("recommender", "predict-k-too-large", "POST", predict, {"user_id": 7, "k": 1000})


def generator() -> None:
    infer, predict = "/v2/models/generator/infer", "/models/generator/predict"
    # The trained generator's latent size; numbers rounded so the files stay readable.
    z = np.round(np.random.default_rng(7).standard_normal((2, 32)), 3).tolist()
    v2("generator")
    event("generator", "infer", "POST", infer,
          {"id": "req-1", "inputs": [{"name": "z", "shape": [2, 32], "datatype": "FP32", "data": z},
                                     {"name": "label", "shape": [2], "datatype": "INT64", "data": [3, 7]}]})
    event("generator", "infer-bad-label", "POST", infer,
          {"inputs": [{"name": "z", "shape": [1, 32], "datatype": "FP32", "data": z[:1]},
                      {"name": "label", "shape": [1], "datatype": "INT64", "data": [10]}]})
    event("generator", "infer-wrong-latent", "POST", infer,
          {"inputs": [{"name": "z", "shape": [1, 16], "datatype": "FP32", "data": [z[0][:16]]},
                      {"name": "label", "shape": [1], "datatype": "INT64", "data": [3]}]})
    event("generator", "predict", "POST", predict, {"digit": 3, "count": 4, "seed": 7})
    event("generator", "predict-no-seed", "POST", predict, {"digit": 7})
    event("generator", "predict-bad-digit", "POST", predict, {"digit": 12})
    event("generator", "predict-count-too-large", "POST", predict, {"digit": 3, "count": 1000})
    event("generator", "predict-bad-seed", "POST", predict, {"digit": 3, "seed": "seven"})


if __name__ == "__main__":
    digits()
    sentiment()
    recommender()
    generator()
