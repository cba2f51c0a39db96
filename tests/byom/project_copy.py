"""A copy of the project for a test to add models to: template.yaml and functions/ copied,
layers/ linked, so the checkout itself is never touched."""
from __future__ import annotations

import shutil
from pathlib import Path

from eventfiles import ROOT


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "template.yaml", target / "template.yaml")
    shutil.copytree(ROOT / "functions", target / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "layers").symlink_to(ROOT / "layers", target_is_directory=True)
    return target


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the copy (not the linked layers), by path: what `lepton add` may have written."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_relative_to(root / "layers") and "__pycache__" not in p.parts}
