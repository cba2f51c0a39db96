"""The batch-job estimate, worked by hand on the round inputs (cost_inputs.py)."""
from __future__ import annotations

import pytest

from cost_inputs import ROUND_PRICES, results_doc
from lepton.cost.batch import CHILD_OVERHEAD_MS, batch_duration_ms, batch_transform_cost, estimate
from lepton.cost.measured import parse
from lepton.cost.prices import parse as parse_prices

PRICES = parse_prices({"prices": ROUND_PRICES})


@pytest.fixture
def tabular():
    return parse(results_doc(), source=__import__("pathlib").Path("results.json")).models["tabular"]


def test_without_a_batch_measurement_a_batch_takes_the_largest_measured_batch_per_row(tabular):
    # batch 8 took 0.8 ms: 0.1 ms a row, so 64 rows 6.4 ms at one full vCPU (1,769 MB and above)
    duration, source = batch_duration_ms(tabular, 64, 2048)
    assert duration == pytest.approx(6.4) and "no batch measurement" in source


def test_a_measured_batch_invocation_is_used_scaled_to_the_batch_and_the_memory(tabular):
    # 64 rows measured at 3 ms; 128 rows at 1,024 MB: 6 ms x 1,769 / 1,024
    duration, source = batch_duration_ms(tabular, 128, 1024, {"tabular": {64: 3.0}})
    assert duration == pytest.approx(6.0 * 1769 / 1024) and "measured" in source


def test_a_job_pays_per_batch_and_one_init_per_environment(tabular):
    # GIVEN 6,400,000 rows in batches of 64 (100,000 batches), 10 at once, 2,048 MB (2 GB), 6.4 ms a batch
    e = estimate(tabular, PRICES, 6_400_000, batch_size=64, concurrency=10, memory_mb=2048)
    assert e.invocations == 100_000
    assert e.parts["lambda_requests"] == pytest.approx(100_000 * 0.20 / 1e6)
    # 7 ms billed x 2 GB x $0.00001 per batch, plus 10 cold starts of 498 ms billed
    assert e.parts["lambda_compute"] == pytest.approx(100_000 * 0.007 * 2 * 0.00001 + 10 * 0.498 * 2 * 0.00001)
    # Express: $1 per million, and 6.4 + 100 ms -> two 100 ms steps at 64 MB
    assert e.parts["express_requests"] == pytest.approx(0.10)
    assert e.parts["express_duration"] == pytest.approx(100_000 * 0.2 * (64 / 1024) * 0.00001)
    assert e.parts["standard_transitions"] == pytest.approx((100_000 + 10) * 0.025 / 1000)
    assert e.parts["s3_requests"] == pytest.approx((100_000 + 3) * 0.005 / 1000)
    # 10,000 waves of one child (6.4 ms + the child's overhead), then one init
    assert e.wall_seconds(tabular.init_ms) == pytest.approx(10_000 * (6.4 + CHILD_OVERHEAD_MS) / 1000 + 0.498)
    assert e.per_million == pytest.approx(e.total / 6.4)


def test_batch_transform_is_instance_hours_at_the_measured_rate_on_every_vcpu():
    # 14,400,000 rows at 1,000 rows/s on each of 4 vCPUs: 3,600 s, one hour at $0.2
    assert batch_transform_cost(PRICES, 14_400_000, 1000.0) == pytest.approx((0.2, 1.0))


def test_an_impossible_job_is_refused(tabular):
    with pytest.raises(ValueError):
        estimate(tabular, PRICES, 10, batch_size=0)
