"""The scaling rules against cases small enough to work out by hand.

Most cases use a function whose requests are billed 1 ms (an environment serves 100 requests in a
0.1 s step) and whose init takes 500 ms (a new environment is ready 0.501 s after it starts).
"""
from __future__ import annotations

import pytest

from lepton.cost.model import Timing
from lepton.cost.simulate import Limits, TokenBucket, p99, simulate
from lepton.cost.traffic import Profile

FN = Timing(warm_ms=0.5, warm_p99_ms=0.9, init_ms=500.0, memory_mb=1024)  # billed 1 ms, 1 GB


def flat(rps: float, seconds: float, step: float = 0.1, until: float | None = None) -> Profile:
    """`rps` from t = 0 (until `until`, then nothing), in steps of `step` seconds."""
    return Profile("flat", f"{rps} req/s", seconds, step,
                   lambda t: rps if until is None or t < until else 0.0, 1.0)


NO_GATEWAY_LIMIT = {"gateway_rate": 1e9, "gateway_burst": 1e9}


def test_token_bucket_admits_12000_12000_then_11000_from_a_full_5000_burst_at_10000_a_second():
    bucket = TokenBucket(capacity=5000, rate=10_000)
    # second 1: 5000 + 10000 available, 12000 taken, 3000 left; second 2: 13000, 1000 left;
    # second 3: 11000 available, all of it taken
    assert [bucket.take(12_000, 1.0) for _ in range(3)] == [12_000, 12_000, 11_000]
    assert bucket.tokens == 0


def test_token_bucket_refills_only_to_its_capacity():
    bucket = TokenBucket(capacity=5000, rate=10_000, tokens=0)
    assert bucket.take(3000, 1.0) == 3000
    assert bucket.tokens == 5000  # 0 + 10000 - 3000 = 7000, capped at 5000


def test_gateway_throttles_1000_in_the_third_second_of_12000_requests_a_second(round_prices):
    run = simulate(flat(12_000, 3.0, step=1.0), FN, Limits(account_concurrency=100_000, scale_burst=100_000),
                   round_prices)
    assert run.gateway_throttled == [0, 0, 1000]


def test_a_jump_from_nothing_to_10000_a_second_fills_the_1000_account_limit_and_throttles_until_init_ends(
        round_prices):
    # step 0: 1000 requests, no environment: 1000 cold starts (scaling bucket 1000 deep), ready at 0.501 s.
    # steps 1-5 (t = 0.1 .. 0.5): the account's 1000 are all starting: 1000 throttled each = 5000.
    # steps 6-9 (t = 0.6 .. 0.9): 1000 warm environments serve all 1000 requests a step = 4000.
    run = simulate(flat(10_000, 1.0), FN, Limits(**NO_GATEWAY_LIMIT), round_prices,
                   warm_start=False)
    assert run.cold == [1000] + [0] * 9
    assert run.lambda_throttled == [0] + [1000] * 5 + [0] * 4
    assert sum(run.warm) == 4000
    assert max(run.environments) == 1000
    summary = run.summary()
    assert summary["cold_share"] == pytest.approx(1000 / 5000)
    assert summary["p99_ms"] == pytest.approx(500.5)  # 20 % cold: the p99 is a cold start, init + 0.5 ms


def test_with_2000_allowed_the_scaling_rate_of_100_a_second_limits_new_environments(round_prices):
    # step 0: 1000 new, the scaling bucket keeps 1000 + 10 - 1000 = 10.
    # step 1: room 1000 but only 10 + 10 = 20 tokens: 20 new, 980 throttled; then 10 a step.
    # steps 2-5: 10 new, 990 throttled each; step 6 the first 1000 are ready and serve everything.
    run = simulate(flat(10_000, 1.0), FN, Limits(account_concurrency=2000, **NO_GATEWAY_LIMIT), round_prices,
                   warm_start=False)
    assert run.cold == pytest.approx([1000, 20, 10, 10, 10, 10, 0, 0, 0, 0])
    assert sum(run.lambda_throttled) == pytest.approx(980 + 4 * 990)


def test_reserved_concurrency_10_caps_the_jump_at_10_environments(round_prices):
    run = simulate(flat(10_000, 0.2), FN, Limits(reserved=10, **NO_GATEWAY_LIMIT), round_prices,
                   warm_start=False)
    assert run.cold == [10, 0]
    assert run.lambda_throttled == [990, 1000]


def test_provisioned_concurrency_5_serves_1000_a_second_warm_and_bills_its_standing_time(round_prices):
    run = simulate(flat(1000, 1.0), FN, Limits(provisioned=5), round_prices)
    # 5 environments serve 500 requests a 0.1 s step; 100 arrive: no cold start, nothing throttled
    assert sum(run.cold) == 0 and sum(run.lambda_throttled) == 0
    assert sum(run.warm) == pytest.approx(1000)
    # standing: 5 x 1 GB x 1 s x $0.000004 = $0.00002;
    # compute on provisioned environments: 1000 x 0.001 s x 1 GB x $0.000008 = $0.000008
    assert run.cost_parts["standing"] == pytest.approx(0.00002)
    assert run.cost_parts["compute"] == pytest.approx(0.000008)
    # requests: 1000 x $0.0000002 = $0.0002; HTTP API 1000 x $0.000001 = $0.001
    assert run.cost_parts["requests"] == pytest.approx(0.0002)
    assert run.cost_parts["api_gateway"] == pytest.approx(0.001)


def test_snapstart_restores_in_the_assumed_time_and_bills_restore_instead_of_init(round_prices):
    run = simulate(flat(10_000, 0.1), FN, Limits(snapstart=True, restore_ms=100.0, **NO_GATEWAY_LIMIT),
                   round_prices,
                   warm_start=False)
    assert run.cold == [1000]
    assert run.cold_latency_ms == pytest.approx(100.5)
    # 1000 restores x 1 GB x $0.0001 = $0.10; cache 1 GB x 0.1 s x $0.000001; no init, no S3 fetch
    assert run.cost_parts["init_or_restore"] == pytest.approx(0.10)
    assert run.cost_parts["standing"] == pytest.approx(1e-7)
    assert run.cost_parts["s3_dynamodb"] == 0


def test_cold_starts_bill_init_and_the_model_fetch(round_prices):
    run = simulate(flat(10_000, 0.1), FN, Limits(**NO_GATEWAY_LIMIT), round_prices,
                   warm_start=False)
    # 1000 inits x 0.5 s x 1 GB x $0.00001 = $0.005; 1000 x (2 x $0.0000004 + $0.000000125) = $0.000925
    assert run.cost_parts["init_or_restore"] == pytest.approx(0.005)
    assert run.cost_parts["s3_dynamodb"] == pytest.approx(0.000925)


def test_idle_environments_are_reclaimed_after_the_keep_alive(round_prices):
    # 1000 start at t = 0, are ready at 0.501 s and never used; kept 1.0 s after they started
    run = simulate(flat(10_000, 1.2, until=0.1), FN, Limits(keep_alive_s=1.0, **NO_GATEWAY_LIMIT), round_prices,
                   warm_start=False)
    assert run.environments[9] == 1000  # t = 0.9
    assert run.environments[10] == 0  # t = 1.0: the start falls out of the 1.0 s window


def test_a_profile_starts_from_its_steady_state_without_cold_starts(round_prices):
    # 2500 req/s x 1 ms = 2.5 busy environments -> 3 warm at the start, enough for 300 a step
    run = simulate(flat(2500, 1.0), FN, Limits(), round_prices)
    assert sum(run.cold) == 0 and run.environments[0] == 3


def test_when_init_ends_within_a_long_step_the_new_environments_serve_the_rest_of_it(round_prices):
    # 1 s steps, 3000 req/s, steady state 3 environments; then 4000 req/s from t = 1:
    # 1000 overflow in the step; those arriving in the first 0.501 s (501) each start an environment,
    # which then serve the other 499 (501 x 0.499 s / 1 ms is far more than enough)
    profile = Profile("step", "3000 then 4000", 2.0, 1.0, lambda t: 3000.0 if t < 1 else 4000.0, 1.0)
    run = simulate(profile, FN, Limits(**NO_GATEWAY_LIMIT), round_prices)
    assert run.cold[1] == pytest.approx(501)
    assert run.warm[1] == pytest.approx(3499)
    assert run.lambda_throttled[1] == pytest.approx(0)


def test_p99_is_the_cold_latency_once_cold_starts_reach_1_percent():
    assert p99(warm=99, cold=1, warm_p99_ms=2.0, cold_ms=500.0) == 500.0
    assert p99(warm=999, cold=1, warm_p99_ms=2.0, cold_ms=500.0) == 2.0


def test_provisioned_above_the_functions_cap_is_refused(round_prices):
    with pytest.raises(ValueError, match="exceeds the function's cap 10"):
        simulate(flat(1, 1.0), FN, Limits(reserved=10, provisioned=20), round_prices)


def test_snapstart_with_provisioned_concurrency_is_refused_as_lambda_refuses_it(round_prices):
    with pytest.raises(ValueError, match="SnapStart together with provisioned"):
        simulate(flat(1, 1.0), FN, Limits(provisioned=2, snapstart=True), round_prices)
