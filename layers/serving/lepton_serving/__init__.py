"""Lepton's shared serving library (the `lepton-serving` Lambda layer).

Importing the package is cheap and never imports onnxruntime: names are resolved on first use,
so the deployer and the control API can use the manifest, store and errors without it.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Handler", "Manifest", "Model", "ModelStore", "ServingConfig", "serve"]

_HOME = {
    "Handler": "app",
    "serve": "app",
    "Manifest": "manifest",
    "Model": "model",
    "ModelStore": "store",
    "ServingConfig": "config",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module 'lepton_serving' has no attribute {name!r}")
