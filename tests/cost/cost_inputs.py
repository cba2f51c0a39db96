"""Small, round inputs for the cost tests: a results document and a price list built here.

The numbers are chosen so each expected value can be worked out by hand in the test's comments.
"""
from __future__ import annotations

from typing import Any


def _stats(median: float, p99: float | None = None) -> dict[str, float]:
    return {"n": 7, "median": median, "p99": p99 if p99 is not None else median, "q1": median, "q3": median,
            "min": median, "max": median}


def results_doc(date: str = "2026-11-29 12:00 UTC", warm_us: float = 400.0, total_ms: float = 500.0,
                first_ms: float = 2.0) -> dict[str, Any]:
    """One model, `tabular`: warm handler 0.4 ms (p99 0.9 ms), cold start 500 ms of which 2 ms is the
    first inference (init 498 ms); KServe served 1,000 req/s at concurrency 1 and 1,500 at 8."""
    cold = {stage: _stats(v) for stage, v in {"interpreter": 10.0, "imports": 200.0, "download": 280.0,
                                               "session": 8.0, "first_inference": first_ms,
                                               "total": total_ms}.items()}
    return {
        "meta": {"date": date, "command": "lepton bench --sections cold,overhead,http", "quick": False,
                 "machine": {"cores": "2", "cpu": "Test CPU", "memory": "8 GiB", "arch": "x86_64", "python": "3.12.1"}},
        "cold": {"repeats": 7, "models": {"tabular": {"lepton": cold}}},
        "overhead": {"iterations": 100, "models": {"tabular": {
            "1": {"handler_us": _stats(warm_us, 900.0), "raw_us": _stats(7.0), "overhead_us": warm_us - 7.0},
            "8": {"handler_us": _stats(2 * warm_us, 1800.0), "raw_us": _stats(8.0), "overhead_us": 2 * warm_us - 8}}}},
        "http": {"concurrency": [1, 8], "servers": {
            "kserve": {"tabular": {"1": {"rps": _stats(1000.0), "errors": 0}, "8": {"rps": _stats(1500.0), "errors": 0}}},
            "lepton": {"tabular": {"1": {"rps": _stats(2000.0), "errors": 0}}}},
            "versions": {"kserve": "kserve==0.21.0"}},
    }


def _price(value: float, per: float, unit: str) -> dict[str, Any]:
    return {"value": value, "per": per, "unit": unit, "what": f"test price, {unit}",
            "source": "https://example.com/pricing", "read": "2026-11-29"}


ROUND_PRICES = {
    "lambda.duration.arm64": _price(0.00001, 1, "GB-second"),
    "lambda.duration.x86_64": _price(0.00002, 1, "GB-second"),
    "lambda.requests": _price(0.20, 1_000_000, "requests"),
    "lambda.provisioned.arm64": _price(0.000004, 1, "GB-second configured"),
    "lambda.provisioned_duration.arm64": _price(0.000008, 1, "GB-second"),
    "lambda.snapstart_cache": _price(0.000001, 1, "GB-second cached"),
    "lambda.snapstart_restore": _price(0.0001, 1, "GB restored"),
    "apigw.http_requests": _price(1.00, 1_000_000, "requests"),
    "s3.get": _price(0.0004, 1000, "GET requests"),
    "dynamodb.read_on_demand": _price(0.125, 1_000_000, "read request units"),
    "ec2.c7g.xlarge": {**_price(0.1, 1, "instance-hour"), "vcpus": 4},
    "ec2.c7i.xlarge": {**_price(0.2, 1, "instance-hour"), "vcpus": 4},
    "sagemaker.serverless": _price(0.00002, 1, "GB-second"),
    "sfn.standard_transitions": _price(0.025, 1000, "state transitions"),
    "sfn.express_requests": _price(1.00, 1_000_000, "requests"),
    "sfn.express_duration": _price(0.00001, 1, "GB-second"),
    "s3.put": _price(0.005, 1000, "PUT requests"),
    "sagemaker.batch.ml.c5.xlarge": {**_price(0.2, 1, "instance-hour"), "vcpus": 4},
}
