"""The canary's judge alone (lepton_deploy/canary.py) and the settings it is judged by."""
from __future__ import annotations

import pytest
from deployer.config import DeployerConfig
from lepton_deploy.canary import CanaryPolicy, Health, judge
from lepton_serving.errors import ConfigError

POLICY = CanaryPolicy(max_error_rate=0.05, min_requests=50, max_rejection_increase=0.05)
BASE = {"LEPTON_FUNCTIONS": '{"tabular": "fn"}', "LEPTON_DEPLOYMENTS_TABLE": "t"}


def test_too_few_callers_requests_hold_the_canary_whatever_they_say():
    assert judge(Health(49, client_errors=49), Health(1000), POLICY).verdict == "hold"


def test_a_5xx_rate_above_the_limit_rolls_back():
    verdict = judge(Health(100, server_errors=6), Health(1000), POLICY)
    assert verdict.verdict == "roll_back" and "5xx rate above the 5.0% limit" in verdict.reason


def test_a_4xx_rate_well_above_the_live_versions_rolls_back():
    verdict = judge(Health(100, client_errors=30, input_errors=30), Health(900, client_errors=45), POLICY)
    assert verdict.verdict == "roll_back"
    assert "4xx rate 30.0% against 5.0%" in verdict.reason and "30 of them input errors" in verdict.reason


def test_the_same_4xx_rate_as_the_live_versions_is_promoted_however_high():
    # A caller flooding the API with bad requests raises both versions' rates alike.
    assert judge(Health(100, client_errors=80), Health(900, client_errors=700), POLICY).verdict == "promote"


def test_a_4xx_rate_within_chance_of_the_live_versions_is_not_a_regression():
    # 12 % against 5 % on 60 requests: above the allowed 5 points, but within what chance gives.
    assert judge(Health(60, client_errors=7), Health(600, client_errors=30), POLICY).verdict == "promote"
    # The same gap on 2,000 requests is not chance.
    assert judge(Health(2000, client_errors=240), Health(18000, client_errors=900), POLICY).verdict == "roll_back"


def test_without_live_traffic_in_the_window_only_the_5xx_rate_judges():
    assert judge(Health(60, client_errors=60), Health(0), POLICY).verdict == "promote"


@pytest.mark.parametrize(("name", "value", "words"), [
    ("LEPTON_CANARY_MAX_ERROR_RATE", "nan", "a finite number"),
    ("LEPTON_CANARY_MAX_ERROR_RATE", "inf", "a finite number"),
    ("LEPTON_CANARY_MAX_ERROR_RATE", "-0.1", "between 0 and 1"),
    ("LEPTON_CANARY_MAX_ERROR_RATE", "1.5", "between 0 and 1"),
    ("LEPTON_CANARY_MAX_REJECTION_INCREASE", "NaN", "a finite number"),
    ("LEPTON_CANARY_MAX_REJECTION_INCREASE", "2", "between 0 and 1"),
    ("LEPTON_CANARY_MIN_REQUESTS", "0", "at least 1"),
    ("LEPTON_CANARY_MIN_REQUESTS", "-5", "at least 1"),
    ("LEPTON_CANARY_MIN_REQUESTS", "12.5", "a whole number"),
    ("LEPTON_CANARY_MIN_REQUESTS", "nan", "a whole number"),
    ("LEPTON_CANARY_BAKE_SECONDS", "nan", "a whole number"),
    ("LEPTON_CANARY_BAKE_SECONDS", "-60", "at least 0"),
    ("LEPTON_CANARY_WEIGHT", "nan", "a finite number"),
    ("LEPTON_CANARY_WEIGHT", "-0.1", "at least 0"),
    ("LEPTON_CANARY_WEIGHT", "1", "below 1"),
    ("LEPTON_MAX_LOAD_MS", "nan", "a finite number"),
])
def test_canary_settings_that_would_judge_nothing_are_refused_when_read(name, value, words):
    # NaN compares false with everything: a NaN error-rate limit would pass every canary.
    with pytest.raises(ConfigError) as refused:
        DeployerConfig.from_env({**BASE, name: value})
    assert f"{name} must be {words}, got {value!r}" in refused.value.message


def test_valid_canary_settings_are_read_into_the_policy():
    config = DeployerConfig.from_env({**BASE, "LEPTON_CANARY_WEIGHT": "0.1", "LEPTON_CANARY_BAKE_SECONDS": "600",
                                      "LEPTON_CANARY_MAX_ERROR_RATE": "0.01", "LEPTON_CANARY_MIN_REQUESTS": "200",
                                      "LEPTON_CANARY_MAX_REJECTION_INCREASE": "0.02"})
    assert (config.canary_weight, config.canary_bake_seconds) == (0.1, 600)
    assert config.canary == CanaryPolicy(max_error_rate=0.01, min_requests=200, max_rejection_increase=0.02)
