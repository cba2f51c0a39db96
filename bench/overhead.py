"""Section 2: warm serving overhead, raw `session.run` vs the full handler call, in-process.

The handler gets events-shaped API Gateway v2 payloads (the function's events/<name>/infer.json
with the body swapped for a batch of 1, 8 or 64 rows); stdout is sent to /dev/null, since the
handler prints an EMF line per invocation. Each call is timed on its own; the overhead is the
difference of the medians (and of the p99s), in µs and as a ratio.
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import time
from typing import Any

from .aws import LocalS3, apply_env, restore_env
from .common import Settings, summary
from .models import BenchModel

BATCHES = (1, 8, 64)


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


def _time_calls(fn: Any, iterations: int) -> list[float]:
    samples = []
    perf = time.perf_counter_ns
    for _ in range(iterations):
        t0 = perf()
        fn()
        samples.append((perf() - t0) / 1000.0)
    return samples


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    import tempfile

    import orjson

    from lepton_serving.protocol import parse_infer_request

    iterations = settings.n(4000, 200)
    results: dict[str, Any] = {"iterations": iterations, "models": {}}
    for model in models:
        with tempfile.TemporaryDirectory(prefix="lepton-warm-") as tmp:
            env = s3.function_env(model, cache_dir=tmp)
            saved = apply_env(env)
            try:
                handler = load_handler(model, env)
                handler.warm()
                session = handler.plane.model.session
                names = [o.name for o in session.get_outputs()]
                template = model.event()
                per_batch = {}
                for batch in BATCHES:
                    if batch > handler.plane.max_batch:
                        continue
                    body = model.body(batch).decode()
                    event = {**template, "body": body, "isBase64Encoded": False}
                    # the graph's feed as the function builds it (its preprocessing, if any, is overhead)
                    served = handler.plane.model
                    feed = served.preprocess(parse_infer_request(body, served.inputs, 1 << 30).inputs)
                    context = _Context()
                    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                        first = handler(event, context)
                        if first["statusCode"] != 200:
                            raise RuntimeError(f"{model.name} batch {batch}: handler answered {first}")
                        check = orjson.loads(first["body"])
                        if check["outputs"][0]["shape"][0] != batch:
                            raise RuntimeError(f"{model.name}: wrong output batch {check['outputs'][0]['shape']}")
                        warmup = max(20, iterations // 10)
                        _time_calls(lambda: session.run(names, feed), warmup)
                        _time_calls(lambda: handler(event, context), warmup)
                        gc.collect()
                        raw, full = [], []
                        # interleaved blocks: drift (thermal, neighbours) hits both sides alike
                        block = max(50, iterations // 10)
                        for _ in range(max(1, iterations // block)):
                            raw += _time_calls(lambda: session.run(names, feed), block)
                            full += _time_calls(lambda: handler(event, context), block)
                    raw_s, full_s = summary(raw), summary(full)
                    per_batch[str(batch)] = {
                        "raw_us": raw_s, "handler_us": full_s,
                        "overhead_us": full_s["median"] - raw_s["median"],
                        "overhead_p99_us": full_s["p99"] - raw_s["p99"],
                        "ratio": full_s["median"] / raw_s["median"],
                    }
                    settings.say(f"  overhead {model.name} batch {batch}: raw {raw_s['median']:.1f} µs, "
                                 f"handler {full_s['median']:.1f} µs (+{full_s['median'] - raw_s['median']:.1f})")
                results["models"][model.name] = per_batch
            except Exception as exc:  # noqa: BLE001 - one model's failure is reported, the run goes on
                results.setdefault("errors", {})[model.name] = f"{type(exc).__name__}: {str(exc)[-300:]}"
                settings.say(f"  overhead {model.name} failed: {results['errors'][model.name]}")
            finally:
                restore_env(saved)
    return results
