"""EnvReader: an unset variable takes its default; a set one is valid or refused, never guessed."""
from __future__ import annotations

import pytest
from lepton_serving.config import LAMBDA_PAYLOAD_LIMIT, ServingConfig
from lepton_serving.environment import EnvReader, once_per_environment
from lepton_serving.errors import ConfigError


def test_unset_and_blank_variables_take_their_defaults():
    read = EnvReader({"LEPTON_MAX_BATCH": "  "}, "the function")
    assert (read.whole("LEPTON_MAX_BATCH", 64), read.number("LEPTON_RATE", 0.5), read.text("LEPTON_DIR", "/tmp")) == (
        64, 0.5, "/tmp")
    read.done()


@pytest.mark.parametrize(("raw", "expected"), [
    ("64k", "a whole number"), ("٣", "a whole number"), ("1_000", "a whole number"), ("²", "a whole number"),
    ("1e3", "a whole number"), ("0", "at least 1"), ("-5", "at least 1"),
])
def test_a_whole_number_is_ascii_digits_within_its_bounds(raw, expected):
    read = EnvReader({"LEPTON_MAX_BATCH": raw}, "the function")
    read.whole("LEPTON_MAX_BATCH", 64, low=1)
    with pytest.raises(ConfigError, match=f"LEPTON_MAX_BATCH must be {expected}, got '{raw}'"):
        read.done()


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "lots"])
def test_a_number_is_finite(raw):
    read = EnvReader({"LEPTON_CANARY_WEIGHT": raw}, "the deployer")
    read.number("LEPTON_CANARY_WEIGHT", 0.0, low=0.0, below=1.0)
    with pytest.raises(ConfigError, match="LEPTON_CANARY_WEIGHT must be a"):
        read.done()


def test_every_bad_variable_is_named_in_one_refusal():
    env = {"LEPTON_MODEL_NAME": "tabular", "LEPTON_MAX_BATCH": "many", "LEPTON_THREADS": "-1",
           "LEPTON_MAX_BODY_BYTES": str(LAMBDA_PAYLOAD_LIMIT + 1), "LEPTON_MODEL_SHA256": "not-a-hash"}
    with pytest.raises(ConfigError) as refused:
        ServingConfig.from_env(env)
    assert refused.value.message == (
        "the model function tabular is misconfigured: "
        "LEPTON_MODEL_SHA256 must be 64 hexadecimal digits (a sha256), got 'not-a-hash'; "
        "LEPTON_THREADS must be between 0 and 64, got '-1'; "
        "LEPTON_MAX_BATCH must be a whole number, got 'many'; "
        f"LEPTON_MAX_BODY_BYTES must be between 1 and {LAMBDA_PAYLOAD_LIMIT}, got '{LAMBDA_PAYLOAD_LIMIT + 1}'")


def test_a_model_function_needs_its_model_name_and_reads_an_empty_model_dir_as_no_layer():
    with pytest.raises(ConfigError, match="LEPTON_MODEL_NAME is not set"):
        ServingConfig.from_env({})
    config = ServingConfig.from_env({"LEPTON_MODEL_NAME": "tabular", "LEPTON_MODEL_DIR": "",
                                     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008"})
    assert (config.model_dir, config.threads, config.max_batch) == ("", 2, 64)


def test_settings_of_one_environment_are_validated_once():
    seen = []

    def read(env):
        seen.append(dict(env))
        return env["X"]

    cached = once_per_environment(read)
    assert [cached({"X": "1"}), cached({"X": "1"}), cached({"X": "2"})] == ["1", "1", "2"] and len(seen) == 2
