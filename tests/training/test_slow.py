"""Full default training of the seed tabular model."""
from __future__ import annotations

import json

import pytest
from lepton_serving.manifest import Manifest


@pytest.mark.slow
def test_full_tabular_training_beats_the_majority_baseline_clearly(tmp_path) -> None:
    from lepton_training import train_family

    artifact = train_family("tabular", tmp_path)
    manifest = Manifest.from_json((artifact / "manifest.json").read_text())
    metrics = manifest.metrics
    assert metrics["test_size"] == 114
    assert metrics["accuracy"] >= metrics["baseline_accuracy"] + 0.10
    assert metrics["f1_macro"] >= metrics["baseline_f1_macro"] + 0.10
    assert metrics["cv_accuracy_mean"] >= metrics["baseline_accuracy"] + 0.10
    details = json.loads((artifact / "metrics.json").read_text())
    assert details["cv"]["folds"] == 3 and details["hyperparameters"]["quick"] is False
