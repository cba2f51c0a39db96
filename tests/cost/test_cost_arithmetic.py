"""The cost per million predictions, worked by hand with round prices (tests/cost/cost_inputs.py).

Prices: arm64 $0.00001 per GB-s, $0.20 per million Lambda requests, $1.00 per million HTTP API
requests, S3 GET $0.0004 per 1,000, DynamoDB read $0.125 per million.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from cost_inputs import results_doc

from lepton.cost import measured, model


@pytest.fixture
def tabular():
    return measured.parse(results_doc(), Path("results.json")).models["tabular"]


def test_128_mb_stretches_a_0_4_ms_request_to_6_billed_ms_and_costs_1_3027875_per_million(tabular, round_prices):
    cost = model.lambda_cost(tabular, round_prices, "arm64", 128, batch=1, cold_fraction=0.01)
    # CPU share at 128 MB: 1769 / 128 = 13.8203125; warm 0.4 ms -> 5.528125 ms -> billed 6 ms
    assert cost.timing.warm_ms == pytest.approx(5.528125)
    assert cost.timing.billed_ms == 6
    # compute: 0.006 s x 0.125 GB x $0.00001 = $7.5e-9 a request -> $0.0075 a million
    assert cost.parts["compute"] == pytest.approx(0.0075)
    assert cost.parts["requests"] == pytest.approx(0.20)
    assert cost.parts["api_gateway"] == pytest.approx(1.00)
    # init: (500 - 2) ms x 13.8203125 = 6882.515625 ms -> billed 6883 ms;
    # 1 % x 6.883 s x 0.125 GB x $0.00001 x 1e6 = $0.0860375
    assert cost.timing.init_ms == pytest.approx(6882.515625)
    assert cost.parts["init"] == pytest.approx(0.0860375)
    # per cold start 2 GETs x $0.0000004 + 1 read x $0.000000125 = $9.25e-7; 1 % of a million = $0.00925
    assert cost.parts["s3_dynamodb"] == pytest.approx(0.00925)
    assert cost.total == pytest.approx(1.3027875)


def test_above_1769_mb_the_duration_stays_and_2048_mb_costs_twice_the_gb(tabular, round_prices):
    cost = model.lambda_cost(tabular, round_prices, "arm64", 2048, cold_fraction=0.0)
    assert cost.timing.warm_ms == pytest.approx(0.4)  # one request runs on one thread: no second vCPU helps
    assert cost.timing.billed_ms == 1
    # 0.001 s x 2 GB x $0.00001 x 1e6 = $0.02; no cold starts, so no init and no S3/DynamoDB
    assert cost.parts["compute"] == pytest.approx(0.02)
    assert cost.parts["init"] == 0 and cost.parts["s3_dynamodb"] == 0
    assert cost.total == pytest.approx(1.22)


def test_x86_64_uses_its_own_gb_second_price(tabular, round_prices):
    arm = model.lambda_cost(tabular, round_prices, "arm64", 1024, cold_fraction=0.0)
    x86 = model.lambda_cost(tabular, round_prices, "x86_64", 1024, cold_fraction=0.0)
    # 1024 MB: 1769 / 1024 = 1.7275390625 x 0.4 ms = 0.691 ms -> 1 ms; 0.001 x 1 GB x $0.00002 x 1e6
    assert arm.parts["compute"] == pytest.approx(0.01)
    assert x86.parts["compute"] == pytest.approx(0.02)


def test_a_batch_of_8_divides_the_per_request_cost_by_8_predictions(tabular, round_prices):
    cost = model.lambda_cost(tabular, round_prices, "arm64", 2048, batch=8, cold_fraction=0.0)
    # batch 8 measured at 0.8 ms -> 1 ms billed; per request $0.00000122 -> per million predictions / 8
    assert cost.total == pytest.approx(1.22 / 8)


def test_concurrency_at_1000_requests_a_second_counts_billed_time_and_the_init_share(tabular, round_prices):
    cost = model.lambda_cost(tabular, round_prices, "arm64", 128, cold_fraction=0.01)
    # 1000 x (0.006 s + 0.01 x 6.882515625 s) = 6 + 68.825 = 74.8 -> 75 environments
    assert cost.concurrency(1000) == 75


def test_billing_rounds_up_to_the_next_millisecond_with_a_1_ms_minimum():
    assert [model.billed_ms(v) for v in (0.05, 1.0, 1.0001, 2.5)] == [1, 1, 2, 3]


def test_memory_outside_lambdas_range_is_refused_with_the_range_in_the_message(tabular, round_prices):
    with pytest.raises(ValueError, match="128 to 10,240 MB"):
        model.lambda_cost(tabular, round_prices, "arm64", 64)


def test_an_unmeasured_batch_size_is_refused_naming_the_measured_ones(tabular, round_prices):
    with pytest.raises(ValueError, match="measured batches: 1, 8"):
        model.lambda_cost(tabular, round_prices, "arm64", 1024, batch=64)
