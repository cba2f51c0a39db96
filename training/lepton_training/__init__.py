"""Lepton training: TensorFlow/Keras training, evaluation, ONNX export and publishing.

Importing the package is cheap: TensorFlow is only imported when training starts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["FAMILY_NAMES", "publish", "publish_model", "train_family"]

# Training order for `all`: generator comes after digits, whose trained model judges it.
FAMILY_NAMES = ("tabular", "digits", "sentiment", "recommender", "generator")


def train_family(family: str, out_dir: Path, quick: bool = False, **overrides: Any) -> Path:
    """Train one family and write model.onnx, manifest.json, metrics.json, report.md and plots.

    The artifacts go to ``out_dir / family``; that directory is returned. ``overrides`` are
    hyperparameters (e.g. epochs=5, search=True, quantize=True, folds=3); unknown names raise.
    """
    from .pipeline import run

    return run(family, Path(out_dir) / family, quick=quick, layers=(overrides,))


def publish_model(artifact_dir: Path, bucket: str, s3_client: Any = None, endpoint_url: str | None = None,
                  version: int | None = None) -> Any:
    """Same as ``lepton_training.publish.publish``."""
    from .publish import publish as _publish

    return _publish(artifact_dir, bucket, s3_client=s3_client, endpoint_url=endpoint_url, version=version)


def __getattr__(name: str) -> Any:
    # ``lepton_training.publish`` is the submodule (its ``publish`` function does the work).
    if name == "publish":
        import importlib

        return importlib.import_module(".publish", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
