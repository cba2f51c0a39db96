"""Hyperparameters: family defaults, overridden by a JSON file, SageMaker's file and CLI flags.

SageMaker writes every value in ``hyperparameters.json`` as a string (the Python SDK even
JSON-encodes strings, so ``"tabular"`` may arrive as ``"\\"tabular\\""``). Values are coerced to
the type of the family default they replace.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

SAGEMAKER_HYPERPARAMETERS = Path("/opt/ml/input/config/hyperparameters.json")

# Pipeline options every family understands, next to its own model hyperparameters.
PIPELINE_DEFAULTS: dict[str, Any] = {
    "seed": 42,
    "quick": False,
    "test_size": 0.2,
    "folds": 3,
    "search": False,
    "quantize": False,
    "quantize_max_drop": 0.01,  # int8 is kept only if the held-out primary metric drops by <= this
    "golden_count": 4,
    "steps_per_execution": 8,
    "verbose": 2,  # Keras fit verbosity for the final model: one line per epoch
    "data_dir": "",  # sentiment: a directory holding the three *_labelled.txt files
}

# Keys SageMaker or the launchers add that are not hyperparameters.
IGNORED_KEYS = {"family"}
IGNORED_PREFIXES = ("sagemaker_", "_")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class HyperparameterError(ValueError):
    """An unknown hyperparameter or a value that cannot be coerced to its type."""


def _decode(value: Any) -> Any:
    """A string that is itself JSON (the SDK's quoting, numbers, lists) becomes that value."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def coerce(key: str, value: Any, default: Any) -> Any:
    """Return ``value`` converted to the type of ``default``."""
    value = _decode(value)
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(text)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            return str(value)
        if isinstance(default, (list, tuple)):
            if isinstance(value, str):
                value = [v for v in value.split(",") if v]
            inner = default[0] if default else None
            return [coerce(key, v, inner) if inner is not None else v for v in value]
    except (TypeError, ValueError) as exc:
        raise HyperparameterError(
            f"hyperparameter '{key}'={value!r} is not a valid {type(default).__name__}"
        ) from exc
    return value


def merge(defaults: Mapping[str, Any], *layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply override layers in order onto ``defaults``; unknown keys are an error (typos)."""
    result = dict(defaults)
    for layer in layers:
        for key, value in (layer or {}).items():
            if key in IGNORED_KEYS or key.startswith(IGNORED_PREFIXES):
                continue
            if key not in defaults:
                known = ", ".join(sorted(defaults))
                raise HyperparameterError(f"unknown hyperparameter '{key}' (known: {known})")
            if value is None:
                continue
            result[key] = coerce(key, value, defaults[key])
    return result


def load_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise HyperparameterError(f"{path} must hold a JSON object of hyperparameters")
    return data


def load_sagemaker(path: Path | None = None) -> dict[str, Any]:
    """SageMaker's hyperparameters.json (all string values), or {} when not on SageMaker."""
    if path is None:
        config_dir = os.environ.get("SM_INPUT_CONFIG_DIR")
        path = Path(config_dir) / "hyperparameters.json" if config_dir else SAGEMAKER_HYPERPARAMETERS
    if not path.is_file():
        return {}
    return {key: _decode(value) for key, value in load_json(path).items()}


def resolve(
    family_defaults: Mapping[str, Any],
    quick_overrides: Mapping[str, Any],
    quick: bool,
    *layers: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """defaults < quick profile (if quick) < each layer in order (file, SageMaker, CLI, API)."""
    defaults = {**PIPELINE_DEFAULTS, **family_defaults}
    base = merge(defaults, dict(quick_overrides, quick=True) if quick else None)
    return merge(base, *layers)
