"""`lepton add --reference`: the user's rows become the added model's pinned reference profile."""
from __future__ import annotations

import json

import numpy as np
import pytest
from lepton_drift.reference import verify_reference
from lepton_serving.manifest import Manifest

import own_models
from lepton.byom.cli import add_model
from lepton.byom.errors import Refused


def artifact_profile(project, name: str):
    folder = project / ".lepton" / "artifacts" / name
    manifest = Manifest.from_json((folder / "manifest.json").read_text())
    return verify_reference((folder / "reference.json").read_bytes(), manifest)[0]


@pytest.fixture
def cancer(model_file):
    data, _ = own_models.sklearn_classifier()
    rows, _ = own_models.breast_cancer()
    return model_file(data, "cancer.onnx"), rows


def test_an_npy_of_input_rows_becomes_the_pinned_profile(project, tmp_path, cancer) -> None:
    model, rows = cancer
    np.save(tmp_path / "rows.npy", rows[:400])
    added = add_model(project, "cancer", model, reference_path=tmp_path / "rows.npy")
    profile = artifact_profile(project, "cancer")
    # THEN the profile is of the 400 rows given, and of the model's answers to them
    assert added["manifest"].reference.rows == 400 and profile.source == "reference data"
    assert [f.name for f in profile.features] == ["X[0]", "X[1]", "X[2]", "X[3]", "label", "prediction"]
    assert profile.feature("X[0]").summary["mean"] == pytest.approx(rows[:400, 0].mean(), rel=1e-5)
    assert sum(profile.feature("prediction").counts) == 400


def test_json_lines_give_the_same_profile_as_the_array(project, tmp_path, cancer) -> None:
    model, rows = cancer
    np.save(tmp_path / "rows.npy", rows[:300])
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:300].tolist()) + "\n")
    add_model(project, "first", model, reference_path=tmp_path / "rows.npy")
    add_model(project, "second", model, reference_path=tmp_path / "rows.jsonl")
    first, second = artifact_profile(project, "first"), artifact_profile(project, "second")
    assert [f.to_dict() for f in first.features] == [f.to_dict() for f in second.features]


def test_a_model_added_without_reference_data_pins_none(project, cancer) -> None:
    model, _ = cancer
    added = add_model(project, "cancer", model)
    assert added["manifest"].reference is None
    assert not (project / ".lepton" / "artifacts" / "cancer" / "reference.json").exists()


@pytest.mark.parametrize("content, words", [
    (lambda rows: rows[:50], "has 50 rows; a reference profile needs at least 100"),
    (lambda rows: rows[:200, :3], "does not fit the model"),
])
def test_reference_data_that_cannot_make_a_profile_is_refused_and_nothing_is_written(project, tmp_path, cancer,
                                                                                     content, words) -> None:
    model, rows = cancer
    np.save(tmp_path / "rows.npy", content(rows))
    with pytest.raises(Refused, match=words):
        add_model(project, "cancer", model, reference_path=tmp_path / "rows.npy")
    assert not (project / ".lepton" / "artifacts" / "cancer").exists()
    assert "cancer" not in (project / "template.yaml").read_text()
