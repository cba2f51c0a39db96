"""ModelPins: the one reader and writer of the environment keys that pin a function version's model."""
from __future__ import annotations

from lepton_serving.pins import ModelPins

SHA = "ab" * 32
MANIFEST_SHA = "cd" * 32


def test_pins_written_into_an_environment_read_back_the_same():
    pins = ModelPins("models", "models/tabular/3/model.onnx", SHA, "3", MANIFEST_SHA)
    env = pins.written_over({"LEPTON_MODEL_NAME": "tabular", "POWERTOOLS_SERVICE_NAME": "tabular"})
    assert env == {"LEPTON_MODEL_NAME": "tabular", "POWERTOOLS_SERVICE_NAME": "tabular",
                   "LEPTON_MODEL_BUCKET": "models", "LEPTON_MODEL_KEY": "models/tabular/3/model.onnx",
                   "LEPTON_MODEL_SHA256": SHA, "LEPTON_MODEL_VERSION": "3", "LEPTON_MANIFEST_SHA256": MANIFEST_SHA}
    assert ModelPins.from_env(env) == pins and pins.pinned and pins.problems() == []


def test_a_new_pin_leaves_nothing_of_the_previous_version_but_the_templates_bucket():
    # GIVEN a function pinned to v3 with a manifest pin, and v4 promoted without one
    before = ModelPins("models", "models/tabular/3/model.onnx", SHA, "3", MANIFEST_SHA).written_over({})
    after = ModelPins("", "models/tabular/4/model.onnx", "ef" * 32, "4").written_over(before)
    # THEN the v3 manifest pin is gone, and the bucket the template set stays
    assert "LEPTON_MANIFEST_SHA256" not in after
    assert after["LEPTON_MODEL_BUCKET"] == "models" and after["LEPTON_MODEL_VERSION"] == "4"


def test_an_environment_without_a_model_key_pins_nothing_and_asks_the_live_pointer():
    pins = ModelPins.from_env({"LEPTON_MODEL_BUCKET": "models"})
    assert not pins.pinned and pins.problems() == []


def test_hashes_are_read_in_lower_case_and_each_bad_pin_is_named():
    assert ModelPins.from_env({"LEPTON_MODEL_SHA256": SHA.upper()}).sha256 == SHA
    problems = ModelPins.from_env({"LEPTON_MODEL_KEY": "models/tabular/3/model.onnx", "LEPTON_MODEL_SHA256": "abc",
                                   "LEPTON_MODEL_VERSION": "²", "LEPTON_MANIFEST_SHA256": "z" * 64}).problems()
    assert problems == [
        "LEPTON_MODEL_SHA256 must be 64 hexadecimal digits (a sha256), got 'abc'",
        "LEPTON_MANIFEST_SHA256 must be 64 hexadecimal digits (a sha256), got '" + "z" * 64 + "'",
        "LEPTON_MODEL_VERSION must be a positive whole number, got '²'",
        "LEPTON_MODEL_KEY names a model but LEPTON_MODEL_BUCKET is not set",
    ]
    assert ModelPins.from_env({"LEPTON_MODEL_BUCKET": "m", "LEPTON_MODEL_KEY": "k"}).problems() == [
        "LEPTON_MODEL_KEY names a model but LEPTON_MODEL_SHA256 does not pin its bytes"]
