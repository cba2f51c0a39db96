"""Lepton's request path (the `lepton-serving` Lambda layer): what a model function imports.

Importing the package is cheap and never imports onnxruntime: names are resolved on first use,
so the deployer and the control API can use the manifest, bucket and errors without it. The
deployment core (registry, rollout, canary, Lambda access) is the separate `lepton_deploy`.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"  # the project's version (pyproject.toml), reported by GET /v2

__all__ = ["Handler", "Manifest", "Model", "ModelBucket", "ModelStore", "ServingConfig", "serve"]

_HOME = {
    "Handler": "app",
    "serve": "app",
    "Manifest": "manifest",
    "Model": "model",
    "ModelBucket": "bucket",
    "ModelStore": "store",
    "ServingConfig": "config",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'lepton_serving' has no attribute {name!r}")
