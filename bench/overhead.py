"""Section 2: warm serving overhead, raw `session.run` vs the full handler call, in-process.

Every route of every model function, at batch 1, 8 and 64 (or the function's own limit when it
is lower, e.g. digits' 32 images):

- the V2 route gets the function's events/<name>/infer.json with its body cut to N rows;
- the same request with every tensor, both ways, in the binary tensor extension (what Triton's
  client sends by default): no JSON numbers to parse or print;
- the friendly route gets the function's predict event (PREDICT_EVENTS) with its rows repeated
  to N.

stdout goes to /dev/null, since the handler prints an EMF line per invocation. Each call is timed
on its own; the overhead is the difference of the medians (and of the p99s) between the handler
and a bare `session.run` on the feed the route builds, in µs and as a ratio.

When session.run itself takes a millisecond or more (a batch of 64 through a GRU), its noise
swamps a difference of two medians. So the handler is also timed with its session wrapped: each
call's time minus that call's own session.run is the *paired* overhead, which the batch-growth
target uses. It also counts what the handler does to session.run (caches the rest of the request
has cooled), which a bare run in a tight loop does not see.

Then each stage of the route is timed on its own (decode, preprocess, postprocess, encode), so
the report can say where an overhead that grows with the batch goes; what is left of the paired
overhead ("rest") is the route match, the event, the response and the metrics, which do not
depend on the batch, and the caches.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from .aws import LocalS3, apply_env, restore_env
from .common import ROOT, Settings, summary
from .models import BenchModel

BATCHES = (1, 8, 64)
#: route -> its key in the results ("models" is the V2 route, the one `lepton cost` reads)
ROUTES = {"v2": "models", "binary": "binary", "predict": "predict"}
#: Wall-clock budget for one side (raw or handler) of one cell: a 10 ms call gets ~200 iterations,
#: not the full count, so the section stays a few minutes long.
CELL_BUDGET_S = 3.0
MIN_ITERATIONS = 100
#: The friendly route's request, per model: its event file and the field whose rows are repeated
#: to the batch size (a singular field such as "image" becomes the plural list; "count" is a number).
PREDICT_EVENTS = {
    "tabular": ("predict.json", "instances"),
    "digits": ("predict-image.json", "images"),
    "sentiment": ("predict-batch.json", "texts"),
    "recommender": ("predict.json", "user_ids"),
    "generator": ("predict.json", "count"),
}


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-warm"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15000


def load_handler(model: BenchModel, env: dict[str, str]) -> Any:
    """The function's handler as Lambda imports it, configured with `env` (a fresh Handler)."""
    for folder in [model.code_uri, *reversed(model.layers)]:
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    module_name, _, attr = model.handler.rpartition(".")
    base = getattr(importlib.import_module(module_name), attr)
    return base.with_environment(env)


def batches_for(max_batch: int) -> list[int]:
    """BATCHES up to the function's limit, and the limit itself when it falls below the largest."""
    return sorted({b for b in BATCHES if b <= max_batch} | ({max_batch} if max_batch < BATCHES[-1] else set()))


def predict_body(model: BenchModel, batch: int) -> bytes | None:
    """The friendly route's request with `batch` rows (None: no predict event for this model)."""
    import orjson

    known = PREDICT_EVENTS.get(model.name)
    if known is None or not (ROOT / "events" / model.name / known[0]).is_file():
        return None
    filename, field = known
    doc = orjson.loads(json.loads((ROOT / "events" / model.name / filename).read_text())["body"])
    if field == "count":
        doc[field] = batch
        return orjson.dumps(doc)
    rows = doc[field] if field in doc else [doc.pop(field.removesuffix("s"))]
    doc[field] = [rows[i % len(rows)] for i in range(batch)]
    return orjson.dumps(doc)


def binary_body(json_body: bytes, specs: list[Any]) -> tuple[bytes, int]:
    """A JSON V2 request's tensors moved into the binary extension, with binary outputs asked for:
    (body, Inference-Header-Content-Length)."""
    import orjson
    from lepton_serving import binary
    from lepton_serving.protocol import parse_infer_request

    request = parse_infer_request(json_body, specs, 1 << 30)
    by_name = {s.name: s for s in specs}
    header: dict[str, Any] = {"id": "bench", "inputs": [], "parameters": {"binary_data_output": True}}
    blobs = []
    for name, array in request.inputs.items():
        raw = binary.encode(array, by_name[name].datatype)
        header["inputs"].append({"name": name, "shape": list(array.shape), "datatype": by_name[name].datatype,
                                 "parameters": {"binary_data_size": len(raw)}})
        blobs.append(raw)
    head = orjson.dumps(header)
    return head + b"".join(blobs), len(head)


def _time_calls(fn: Callable[[], Any], iterations: int) -> list[float]:
    samples = []
    perf = time.perf_counter_ns
    for _ in range(iterations):
        t0 = perf()
        fn()
        samples.append((perf() - t0) / 1000.0)
    return samples


def _median_us(fn: Callable[[], Any], iterations: int) -> float:
    _time_calls(fn, max(5, iterations // 10))
    return statistics.median(_time_calls(fn, iterations))


class _Route:
    """One route of one served model at one batch: its event, its graph feed and its stages."""

    def __init__(self, handler: Any, route: str, body: bytes, template: dict[str, Any]):
        import base64

        from lepton_serving.protocol import (check_rows, dumps, encode_infer_response, loads,
                                             parse_infer_request, select_outputs)

        plane = handler.plane
        served = plane.model
        header_length = None
        if route == "binary":
            body, header_length = binary_body(body, served.inputs)
            headers = {**template.get("headers", {}), "content-type": "application/octet-stream",
                       "inference-header-content-length": str(header_length)}
            self.event = {**template, "headers": headers, "body": base64.b64encode(body).decode(),
                          "isBase64Encoded": True}
        else:
            self.event = {**template, "body": body.decode(), "isBase64Encoded": False}
        if route in ("v2", "binary"):
            def decode() -> Any:
                request = parse_infer_request(body, served.inputs, plane.max_batch, header_length)
                return request, request.inputs

            def postprocess(outputs: Any, request: Any) -> Any:
                return select_outputs(served.postprocess(outputs, request.inputs), request.outputs, served.labels)

            def encode(outputs: Any, request: Any) -> Any:
                return encode_infer_response(served.name, served.version, outputs, request)
        else:
            def decode() -> Any:
                request = served.read_predict(loads(body))
                check_rows(len(request.rows), plane.max_batch, served.row_noun)
                request.inputs = served.decode_predict(request)
                return request, request.inputs

            def postprocess(outputs: Any, request: Any) -> Any:
                return served.postprocess(outputs, request.inputs)

            def encode(outputs: Any, request: Any) -> Any:
                return dumps(served.encode_predict(outputs, request))
        request, inputs = decode()
        self.feed = served.preprocess(inputs)
        graph_outputs = served.predict(self.feed)
        outputs = postprocess(graph_outputs, request)
        # what the route does besides session.run, each stage on its own
        self.stages: dict[str, Callable[[], Any]] = {
            "decode": decode,
            "preprocess": lambda: served.preprocess(inputs),
            "postprocess": lambda: postprocess(graph_outputs, request),
            "encode": lambda: encode(outputs, request),
        }

    @staticmethod
    def check(answer: dict[str, Any], batch: int, route: str) -> None:
        import base64

        import orjson

        if answer["statusCode"] != 200:
            raise RuntimeError(f"{route} batch {batch}: handler answered {str(answer)[:300]}")
        body = answer["body"]
        if route == "binary":
            length = int(answer["headers"]["Inference-Header-Content-Length"])
            body = base64.b64decode(body)[:length]
        doc = orjson.loads(body)
        if route != "predict" and doc["outputs"][0]["shape"][0] != batch:
            raise RuntimeError(f"{route}: wrong output batch {doc['outputs'][0]['shape']}")


class _TimedSession:
    """The served session, timing each of its runs: the handler's own session.run, call by call."""

    def __init__(self, session: Any):
        self.session = session
        self.runs_us: list[float] = []

    def run(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter_ns()
        out = self.session.run(*args, **kwargs)
        self.runs_us.append((time.perf_counter_ns() - t0) / 1000.0)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


def _paired(handler: Any, full: Callable[[], Any], iterations: int) -> list[float]:
    """Each handler call's time minus its own session.run: noise in a long run cancels out."""
    served = handler.plane.model
    timed = served.session = _TimedSession(served.session)
    try:
        calls = _time_calls(full, iterations)
    finally:
        served.session = timed.session
    if len(timed.runs_us) != len(calls):
        raise RuntimeError(f"{len(calls)} handler calls ran the session {len(timed.runs_us)} times")
    return [call - run for call, run in zip(calls, timed.runs_us)]


def _measure(handler: Any, route: _Route, iterations: int) -> dict[str, Any]:
    session = handler.plane.model.session
    names = [o.name for o in session.get_outputs()]
    feed, event, context = route.feed, route.event, _Context()

    def raw() -> Any:
        return session.run(names, feed)

    def full() -> Any:
        return handler(event, context)

    warmup = max(20, iterations // 10)
    _time_calls(raw, warmup)
    estimate = statistics.median(_time_calls(full, warmup))
    iterations = max(MIN_ITERATIONS, min(iterations, int(CELL_BUDGET_S * 1e6 / max(estimate, 1.0))))
    gc.collect()
    raw_samples: list[float] = []
    full_samples: list[float] = []
    paired_samples: list[float] = []
    # interleaved blocks: drift (thermal, neighbours) hits every side alike
    block = max(50, iterations // 10)
    for _ in range(max(1, iterations // block)):
        raw_samples += _time_calls(raw, block)
        full_samples += _time_calls(full, block)
        paired_samples += _paired(handler, full, block)
    raw_s, full_s, paired_s = summary(raw_samples), summary(full_samples), summary(paired_samples)
    split = {name: _median_us(stage, max(MIN_ITERATIONS // 2, iterations // 4)) for name, stage in route.stages.items()}
    split["rest"] = paired_s["median"] - sum(split.values())
    return {"raw_us": raw_s, "handler_us": full_s, "overhead_us": full_s["median"] - raw_s["median"],
            "overhead_p99_us": full_s["p99"] - raw_s["p99"], "ratio": full_s["median"] / raw_s["median"],
            "paired_us": paired_s, "split_us": split}


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    import tempfile

    iterations = settings.n(4000, 200)
    results: dict[str, Any] = {"iterations": iterations, "budget_s": CELL_BUDGET_S, **{k: {} for k in ROUTES.values()}}
    for model in models:
        with tempfile.TemporaryDirectory(prefix="lepton-warm-") as tmp:
            env = s3.function_env(model, cache_dir=tmp)
            saved = apply_env(env)
            try:
                handler = load_handler(model, env)
                handler.warm()
                for route_name, key in ROUTES.items():
                    friendly = route_name == "predict"
                    if friendly and predict_body(model, 1) is None:
                        continue
                    template = json.loads((ROOT / "events" / model.name / PREDICT_EVENTS[model.name][0]).read_text()
                                          ) if friendly else model.event()
                    per_batch = {}
                    for batch in batches_for(handler.plane.max_batch):
                        body = predict_body(model, batch) if friendly else model.body(batch)
                        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                            route = _Route(handler, route_name, body, template)
                            route.check(handler(route.event, _Context()), batch, route_name)
                            cell = _measure(handler, route, iterations)
                        per_batch[str(batch)] = cell
                        raw_us, handler_us = cell["raw_us"]["median"], cell["handler_us"]["median"]
                        settings.say(f"  overhead {model.name} {route_name} batch {batch}: raw {raw_us:.1f} µs, "
                                     f"handler {handler_us:.1f} µs (+{cell['overhead_us']:.1f})")
                    results[key][model.name] = per_batch
            except Exception as exc:  # noqa: BLE001 - one model's failure is reported, the run goes on
                results.setdefault("errors", {})[model.name] = f"{type(exc).__name__}: {str(exc)[-300:]}"
                settings.say(f"  overhead {model.name} failed: {results['errors'][model.name]}")
            finally:
                restore_env(saved)
    return results
