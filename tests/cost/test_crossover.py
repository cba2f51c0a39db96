"""Where a step-wise server cost meets a cost linear in requests, worked by hand."""
from __future__ import annotations

from pathlib import Path

import pytest
from cost_inputs import results_doc

from lepton.cost import crossover, measured

HOURS = crossover.HOURS_PER_MONTH


def srv(month_usd: float, capacity_rps: float) -> crossover.Server:
    # one vCPU at full utilisation, so capacity is the per-vCPU rate
    return crossover.Server("test", hourly_usd=month_usd / HOURS, vcpus=1, rps_per_vcpu=capacity_rps, utilisation=1.0)


def per_request(usd_per_rps_month: float) -> float:
    return usd_per_rps_month / crossover.SECONDS_PER_MONTH


def test_an_instance_month_of_100_against_15_a_month_per_steady_request_a_second():
    # k = 15 USD a month per req/s, one instance: $100, 10 req/s.
    # band 1 (0-10 req/s): servers cheaper from 100 / 15 = 6.667;
    # band 2 (10-20): $200, cheaper from 13.333; band 3 (20-30): $300 <= 15 x 20 from its bottom, so always
    # cheaper from 13.333 on (band 2's range ends where band 3's begins).
    result = crossover.crossover(per_request(15.0), srv(100.0, 10.0))
    assert result.first_rps == pytest.approx(100 / 15)
    assert result.always_rps == pytest.approx(200 / 15)


def test_two_instances_minimum_doubles_the_first_crossover():
    result = crossover.crossover(per_request(15.0), srv(100.0, 10.0), minimum=2)
    assert result.first_rps == pytest.approx(200 / 15)


def test_a_server_that_costs_more_full_than_its_requests_would_never_wins():
    # a full instance serves 10 req/s worth $50 a month per request; it costs $100
    result = crossover.crossover(per_request(5.0), srv(100.0, 10.0))
    assert result.first_rps is None and result.always_rps is None


def test_instance_capacity_is_vcpus_times_kserve_rate_times_utilisation(round_prices):
    s = crossover.server(round_prices, "c7g.xlarge", rps_per_vcpu=1000.0, utilisation=0.5)
    assert s.capacity_rps == 2000.0  # 4 vCPUs x 1000 x 0.5
    assert s.monthly_usd(2500.0) == pytest.approx(2 * 0.1 * HOURS)


def test_sagemaker_serverless_bills_1_gb_for_whole_milliseconds(round_prices):
    # KServe took 1.2 ms a request -> 2 ms x 1 GB x $0.00002 = $0.00000004
    assert crossover.sagemaker_usd_per_request(round_prices, 1.2) == pytest.approx(4e-8)


def test_compare_uses_kserves_best_measured_rate_and_its_single_request_time(round_prices):
    results = measured.parse(results_doc(), Path("results.json"))
    row = crossover.compare(results, round_prices, ["tabular"], utilisation=1.0)[0]
    assert (row["kserve_rps_per_vcpu"], row["kserve_at_concurrency"]) == (1500.0, 8)
    assert row["kserve_ms_per_request_c1"] == 1.0  # 1000 req/s at concurrency 1
    sides = [(c["side"], c["instance"]) for c in row["crossovers"]]
    assert sides == [("Lambda arm64 1,024 MB + HTTP API", "c7g.xlarge"), ("Lambda x86_64 1,024 MB + HTTP API", "c7i.xlarge"),
                     ("SageMaker Serverless 1 GB", "c7g.xlarge"), ("SageMaker Serverless 1 GB", "c7i.xlarge")]
    # c7g: 4 x 1500 = 6000 req/s for $0.1 x 730 = $73 a month
    assert row["crossovers"][0]["capacity_rps"] == 6000.0
