"""What a million predictions cost on Lambda behind an HTTP API, part by part.

The formula is the one Lambda bills by: billed duration (whole milliseconds) x memory (GB) x
the price per GB-second, plus a price per request, plus API Gateway's price per request. Cold
starts add the init phase at the same rate (billed for zip packages on managed runtimes since
1 August 2025), and the S3 path's requests (two GETs and one DynamoDB read of the live pointer),
an upper bound: a model read from its layer makes neither. The deployer prices each version's
receipt with it; `lepton cost` prices the benchmark's figures and the receipts the same way.
"""
from __future__ import annotations

import math

from .prices import Prices

MB_PER_GB = 1024  # Lambda's GB-seconds use memory in MB / 1024 (its pricing examples do)
S3_GETS_PER_COLD_START = 2  # manifest.json and model.onnx (lepton_serving/store.py)
DYNAMODB_READS_PER_COLD_START = 1  # the live pointer, strongly consistent, one item under 4 KB
DEFAULT_COLD_FRACTION = 0.01  # AWS: cold starts "typically occur in under 1% of invocations"
PARTS = ("compute", "requests", "api_gateway", "init", "s3_dynamodb")


def billed_ms(duration_ms: float) -> int:
    """Lambda rounds each invocation up to the next whole millisecond (at least 1 ms)."""
    return max(1, math.ceil(round(duration_ms, 6)))


def per_million(prices: Prices, arch: str, memory_mb: int, billed: float, init_billed: float,
                cold_fraction: float = DEFAULT_COLD_FRACTION, batch: int = 1) -> dict[str, float]:
    """USD per million predictions, by part, for requests of ``batch`` rows each billed ``billed``
    ms (a mean may be fractional), a ``cold_fraction`` of them also billed ``init_billed`` ms."""
    if not 0.0 <= cold_fraction <= 1.0:
        raise ValueError(f"cold fraction must be between 0 and 1, got {cold_fraction}")
    if batch < 1:
        raise ValueError(f"batch must be 1 or more rows, got {batch}")
    gb = memory_mb / MB_PER_GB
    rate = prices.unit(f"lambda.duration.{arch}")
    per_request = {
        "compute": billed / 1000.0 * gb * rate,
        "requests": prices.unit("lambda.requests"),
        "api_gateway": prices.unit("apigw.http_requests"),
        "init": cold_fraction * init_billed / 1000.0 * gb * rate,
        "s3_dynamodb": cold_fraction * (S3_GETS_PER_COLD_START * prices.unit("s3.get")
                                        + DYNAMODB_READS_PER_COLD_START * prices.unit("dynamodb.read_on_demand")),
    }
    scale = 1_000_000 / batch
    return {part: value * scale for part, value in per_request.items()}
