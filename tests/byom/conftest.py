"""A copy of the project for each test to add models to, so the checkout's template.yaml and
functions/ are never touched: template.yaml and functions/ copied, layers/ linked."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from project_copy import copy_project


@pytest.fixture
def project(tmp_path) -> Iterator[Path]:
    """The copy; the function packages a test imported from it are forgotten after it, as a new
    process would (each copy's functions/<name>/ goes on sys.path when its handler runs)."""
    path, modules = list(sys.path), set(sys.modules)
    yield copy_project(tmp_path / "project")
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if getattr(sys.modules[name], "__file__", None) and str(tmp_path) in str(sys.modules[name].__file__):
            del sys.modules[name]


@pytest.fixture
def model_file(tmp_path) -> Callable[[bytes, str], Path]:
    def write(data: bytes, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
