"""Models trained by lepton_training for tests, kept in pytest's cache between runs.

Training imports TensorFlow and takes from seconds to a minute, so the artifacts live in a cache
folder named for a digest of the training code: they are rebuilt only when training/ changes
(and always in a fresh clone, as in CI).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest


def training_digest(package: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def artifact_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Path:
    """``<prefix>-<digest>`` in pytest's cache (else a temporary folder); older digests are removed."""
    import lepton_training

    key = f"{prefix}-{training_digest(Path(lepton_training.__file__).parent)}"
    cache = getattr(request.config, "cache", None)
    out = Path(cache.mkdir(key)) if cache is not None else tmp_path_factory.mktemp(key)
    for stale in out.parent.glob(f"{prefix}-*"):  # artifacts of older training code
        if stale != out:
            shutil.rmtree(stale, ignore_errors=True)
    return out


def trained(out: Path, family: str, quick: bool, **overrides: Any) -> Path:
    """``out/<family>``, trained there unless a finished run (its manifest) is already there."""
    from filelock import FileLock
    from lepton_training import train_family

    folder = out / family
    # `make test` runs test files in two processes, and several files share a cache: whoever
    # comes second waits for the first to finish training, then reuses its run.
    with FileLock(out / f".{family}.lock"):
        if not (folder / "manifest.json").is_file():
            folder = Path(train_family(family, out, quick=quick, **overrides))
    return folder
