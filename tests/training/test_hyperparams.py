"""Hyperparameter layering and SageMaker's all-strings coercion."""
from __future__ import annotations

import json

import pytest

from lepton_training.hyperparams import HyperparameterError, coerce, load_sagemaker, merge, resolve

DEFAULTS = {"epochs": 10, "learning_rate": 0.01, "search": False, "rnn": "lstm", "sizes": [1, 2]}


def test_sagemaker_strings_are_coerced_to_the_default_types(tmp_path, monkeypatch) -> None:
    config = tmp_path / "hyperparameters.json"
    # What SageMaker writes: every value a string; the Python SDK even JSON-quotes strings.
    config.write_text(json.dumps({"epochs": "25", "learning_rate": "0.003", "search": "True",
                                  "rnn": "\"gru\"", "sizes": "[4, 8]", "family": "\"digits\"",
                                  "sagemaker_program": "\"x.py\""}))
    monkeypatch.setenv("SM_INPUT_CONFIG_DIR", str(tmp_path))
    raw = load_sagemaker()
    assert raw["family"] == "digits"
    hp = merge(DEFAULTS, raw)
    assert hp == {"epochs": 25, "learning_rate": 0.003, "search": True, "rnn": "gru", "sizes": [4, 8]}
    assert type(hp["epochs"]) is int and type(hp["learning_rate"]) is float


def test_load_sagemaker_without_a_file_is_empty(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SM_INPUT_CONFIG_DIR", str(tmp_path / "missing"))
    assert load_sagemaker() == {}


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("no", False), ("1", True), ("yes", True), (True, True)])
def test_booleans(value, expected) -> None:
    assert coerce("search", value, False) is expected


@pytest.mark.parametrize(("key", "value"), [("epochs", "ten"), ("epochs", "2.5"), ("search", "maybe"), ("learning_rate", "fast")])
def test_bad_values_are_rejected(key, value) -> None:
    with pytest.raises(HyperparameterError, match=key):
        merge(DEFAULTS, {key: value})


def test_unknown_keys_are_rejected_but_platform_keys_ignored() -> None:
    with pytest.raises(HyperparameterError, match="unknown hyperparameter 'epoch'"):
        merge(DEFAULTS, {"epoch": 3})
    assert merge(DEFAULTS, {"family": "x", "sagemaker_region": "us-east-1"}) == DEFAULTS


def test_layers_apply_in_order_quick_first() -> None:
    family = {"epochs": 50, "learning_rate": 0.01}
    quick = {"epochs": 2, "folds": 2}
    hp = resolve(family, quick, True, {"epochs": "7"}, {"learning_rate": 0.5})
    assert (hp["epochs"], hp["folds"], hp["quick"], hp["learning_rate"]) == (7, 2, True, 0.5)
    full = resolve(family, quick, False)
    assert (full["epochs"], full["folds"], full["quick"]) == (50, 3, False)
