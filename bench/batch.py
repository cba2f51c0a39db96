"""Section 7: batch scoring, the work of one batch-state-machine child, in-process.

Each model function gets the direct-invocation event the Distributed Map sends it (rows in V2 form,
{"lepton_batch": {"format": "jsonl", "items": [...]}}) with its batch limit of rows, and with
16 times that (the largest batch a job may ask for; the function scores it a limit at a time).
Each call is timed on its own: what one invocation bills, and what `lepton cost` prices a batch
job from. Then 100,000 rows go through one handler in batches of the limit, as one execution
environment would score them: its rows per second. Step Functions itself (the map run, the S3
reads and writes) is not in these numbers; moto's interpreter cannot run the batch state machine
(docs/batch.md), and AWS's overheads are the estimate's stated assumptions.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from typing import Any

from .aws import LocalS3, apply_env, restore_env
from .common import Settings, summary
from .models import BenchModel
from .overhead import load_handler

MULTIPLES = (1, 16)  # batch limits per invocation
ROWS = 100_000


class _Context:
    function_version = "bench"
    aws_request_id = "bench"


def v2_rows(handler: Any, model: BenchModel, count: int) -> list[dict[str, Any]]:
    """`count` rows in V2 form ({input: that row's value}) from the model's own example request."""
    from lepton_serving.protocol import parse_infer_request

    served = handler.plane.model
    request = parse_infer_request(model.body(1), served.inputs, 1 << 30)
    row = {name: (array[0].tolist() if array.dtype.kind != "O" else str(array.reshape(-1)[0]))
           for name, array in request.inputs.items()}
    return [row] * count


def event(rows: list[dict[str, Any]], start: int = 0) -> dict[str, Any]:
    return {"lepton_batch": {"format": "jsonl", "items": [{"index": start + i, "row": r} for i, r in enumerate(rows)]}}


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    iterations = settings.n(200, 10)
    total_rows = settings.n(ROWS, 2_000)
    results: dict[str, Any] = {"iterations": iterations, "rows": total_rows, "models": {}}
    for model in models:
        with tempfile.TemporaryDirectory(prefix="lepton-batch-") as tmp:
            env = s3.function_env(model, cache_dir=tmp)
            saved = apply_env(env)
            try:
                handler = load_handler(model, env)
                handler.warm()
                limit = handler.plane.max_batch
                per_size: dict[str, Any] = {}
                with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):  # an EMF line per call
                    for multiple in MULTIPLES:
                        size = limit * multiple
                        batch = event(v2_rows(handler, model, size))
                        _check(handler(batch, _Context()), size, model.name)
                        samples = []
                        for _ in range(iterations if multiple == 1 else max(3, iterations // multiple)):
                            t0 = time.perf_counter_ns()
                            handler(batch, _Context())
                            samples.append((time.perf_counter_ns() - t0) / 1e6)
                        stats = summary(samples)
                        per_size[str(size)] = {"invocation_ms": stats, "rows_per_s": size / (stats["median"] / 1000)}
                    rows = v2_rows(handler, model, limit)
                    t0 = time.perf_counter()
                    scored = 0
                    for start in range(0, total_rows, limit):
                        answer = handler(event(rows[:min(limit, total_rows - start)], start), _Context())
                        scored += answer["rows"]
                    elapsed = time.perf_counter() - t0
                if scored != total_rows:
                    raise RuntimeError(f"{model.name}: {total_rows} rows in, {scored} answered")
                results["models"][model.name] = {**per_size, "run": {"rows": scored, "seconds": round(elapsed, 3),
                                                                     "rows_per_s": scored / elapsed}}
                settings.say(f"   {model.name}: {statistics.median([scored / elapsed]):,.0f} rows/s in one "
                             f"environment, batch of {limit} in {per_size[str(limit)]['invocation_ms']['median']:.2f} ms")
            finally:
                restore_env(saved)
    return results


def _check(answer: dict[str, Any], size: int, name: str) -> None:
    if answer.get("rows") != size or answer.get("errors"):
        raise RuntimeError(f"{name}: a batch of {size} valid rows answered {str(answer)[:300]}")
