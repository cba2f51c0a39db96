"""Artifacts (model.onnx + manifest.json) of small real ONNX models for every family.

A local stack started on them serves every model function in template.yaml, through the same
publish -> S3 notification -> deployer -> alias path as trained models take.
"""
from __future__ import annotations

from pathlib import Path

from lepton_serving.manifest import Manifest
from onnx_models import manifest_for, mlp_model

# What each family's manifest claims about held-out quality: above the deployer's minimums in
# template.yaml (LEPTON_MIN_METRICS), which these untrained graphs would otherwise not pass.
CLAIMED_METRICS = {
    "tabular": {"accuracy": 0.9},
    "digits": {"accuracy": 0.95},
    "sentiment": {"accuracy": 0.8},
    "recommender": {"ndcg_at_10": 0.4},
    "generator": {"conditional_accuracy": 0.95},
}


def family_artifacts() -> dict[str, tuple[bytes, Manifest]]:
    from family_models import (digits_manifest, digits_model, generator_manifest, generator_model,
                               recommender_manifest, recommender_model, sentiment_manifest, sentiment_model)

    tabular = mlp_model(11).SerializeToString()
    built = {
        "tabular": (tabular, manifest_for(tabular)),
        "digits": (digits := digits_model(), digits_manifest(digits)),
        "sentiment": (sentiment := sentiment_model(), sentiment_manifest(sentiment)),
        "recommender": (recommender := recommender_model(), recommender_manifest(recommender)),
        "generator": (generator := generator_model(), generator_manifest(generator)),
    }
    for name, (_, manifest) in built.items():
        manifest.metrics = dict(CLAIMED_METRICS[name])
    return built


def write_artifact(folder: Path, model: bytes, manifest: Manifest) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(model)
    (folder / "manifest.json").write_text(manifest.to_json())


def write_all(artifacts: Path) -> dict[str, bytes]:
    """Write every family under artifacts/<name>/; return the model bytes by name."""
    models = {}
    for name, (model, manifest) in family_artifacts().items():
        write_artifact(artifacts / name, model, manifest)
        models[name] = model
    return models


def write_tabular(folder: Path, seed: int) -> bytes:
    """A new tabular version (weights drawn from `seed`) as an artifact folder; returns its bytes."""
    data = mlp_model(seed).SerializeToString()
    write_artifact(folder, data, manifest_for(data, metrics=dict(CLAIMED_METRICS["tabular"])))
    return data
