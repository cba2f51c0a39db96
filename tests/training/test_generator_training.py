"""The generator family through the pipeline: its judge, report, reproducible figures, determinism, parity."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from lepton_training import export, pipeline
from lepton_training.manifest_writer import file_digest
from test_export import perturb_largest_weight

METRICS = ("conditional_accuracy", "diversity", "frechet_distance")


@pytest.fixture(scope="module")
def generator_fit(quick_artifacts):
    """A quick in-memory fit (2 epochs on the quick subset), judged by the quick digits model."""
    from lepton_training.distribute import make_strategy
    from lepton_training.families import get_family
    from lepton_training.hyperparams import resolve

    family = get_family("generator")
    hp = resolve(family.defaults, family.quick, True, {"epochs": 2, "classifier": str(quick_artifacts("digits"))})
    data = family.load(hp)
    trained = family.fit(hp, family.train_part(data), make_strategy())
    return {"family": family, "hp": hp, "data": data, "trained": trained}


def evaluation_images(artifact: Path, manifest: dict) -> tuple[np.ndarray, np.ndarray]:
    """The images the manifest's figures are for, drawn the documented way from its seeds."""
    evaluation, latent = manifest["preprocessing"]["evaluation"], manifest["preprocessing"]["latent_dim"]
    session = ort.InferenceSession(str(artifact / "model.onnx"))
    images, labels = [], []
    for digit in range(10):
        z = np.random.default_rng(evaluation["eval_seed"] + digit).standard_normal(
            (evaluation["per_class"], latent), dtype=np.float32)
        label = np.full(evaluation["per_class"], digit, np.int64)
        images.append(session.run(None, {"z": z, "label": label})[0])
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def test_the_quick_run_reports_every_figure_against_both_trivial_generators(quick_artifacts):
    artifact = quick_artifacts("generator")
    metrics = json.loads((artifact / "metrics.json").read_text())
    manifest = json.loads((artifact / "manifest.json").read_text())
    for name in METRICS:
        for prefix in ("", "baseline_", "real_"):
            assert manifest["metrics"][prefix + name] == metrics["test"][prefix + name]
        assert f"cv_{name}_mean" in manifest["metrics"]
    assert all(manifest["metrics"][p + "frechet_distance"] >= 0 for p in ("", "baseline_", "real_"))
    report = (artifact / "report.md").read_text()
    assert "| metric | model | baseline | real data |" in report
    assert f"| conditional_accuracy | {metrics['test']['conditional_accuracy']:.4f} |" in report
    for png in ("learning_curves.png", "samples.png", "generation.png"):
        assert f"]({png})" in report and (artifact / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.asarray(metrics["samples"]).shape == (10, 10, 8, 8)
    # CV folds record the per-epoch validation curves the learning-curve plot shows
    assert len(metrics["cv"]["histories"][0]["val_conditional_accuracy"]) == metrics["hyperparameters"]["epochs"]


def test_the_judge_is_the_digits_model_next_to_it_and_the_goldens_ask_for_each_digit(quick_artifacts):
    artifact = quick_artifacts("generator")
    manifest = json.loads((artifact / "manifest.json").read_text())
    sha256, _ = file_digest(quick_artifacts("digits") / "model.onnx")
    assert manifest["preprocessing"]["judge"]["sha256"] == sha256
    assert manifest["preprocessing"]["judge"]["family"] == "digits"
    assert [g["inputs"]["label"] for g in manifest["golden"]] == [[d] for d in range(10)]
    assert all(np.asarray(g["inputs"]["z"]).shape == (1, 32) for g in manifest["golden"])


def test_the_published_conditional_accuracy_is_reproduced_from_the_manifests_seeds(quick_artifacts):
    # GIVEN the seeds the manifest names WHEN the images are drawn the way the function draws
    # them and read by the digits model THEN the share read correctly is the published figure
    artifact = quick_artifacts("generator")
    manifest = json.loads((artifact / "manifest.json").read_text())
    images, labels = evaluation_images(artifact, manifest)
    digits = ort.InferenceSession(str(quick_artifacts("digits") / "model.onnx"))
    predicted = digits.run(None, {"image": images})[0].argmax(axis=1)
    assert np.mean(predicted == labels) == manifest["metrics"]["conditional_accuracy"]


def test_training_is_deterministic_for_a_seed(generator_fit):
    from lepton_training.distribute import make_strategy
    from lepton_training.train import predict

    family, hp, data, first = (generator_fit[k] for k in ("family", "hp", "data", "trained"))
    asked = family.inputs(first, family.test_part(data))
    again = family.fit(hp, family.train_part(data), make_strategy())
    other = family.fit(dict(hp, seed=hp["seed"] + 1), family.train_part(data), make_strategy())
    np.testing.assert_array_equal(predict(again.model, asked), predict(first.model, asked))
    assert again.history == first.history
    assert not np.allclose(predict(other.model, asked), predict(first.model, asked))


def test_parity_holds_for_the_two_input_export_and_fails_for_a_perturbed_weight(generator_fit, tmp_path):
    family, hp, data, trained = (generator_fit[k] for k in ("family", "hp", "data", "trained"))
    asked = family.inputs(trained, family.test_part(data))
    path = tmp_path / "model.onnx"
    info = export.export_verified(trained.model, path, asked, family.contract(hp))
    assert info["parity_max_abs_diff"] <= 1e-4 and info["parity_samples"] == len(asked["label"])
    assert {"Conv", "ConvTranspose", "Gather"} <= set(info["ops"])
    perturb_largest_weight(path)
    with pytest.raises(export.ParityError, match="differs from TensorFlow"):
        export.verify_parity(trained.model, path, asked)


# ------------------------------------------------------------------ the digits model the generator needs
@pytest.fixture
def trainings(monkeypatch) -> list[tuple[str, Path, bool]]:
    """pipeline.run replaced by a recorder that writes a manifest (and a metrics.json saying quick or not)."""
    calls: list[tuple[str, Path, bool]] = []

    def fake_run(name, folder, quick=False, layers=(), strategy=None):
        calls.append((name, Path(folder), quick))
        write_artifact(Path(folder), quick)
        return Path(folder)

    monkeypatch.setattr(pipeline, "run", fake_run)
    return calls


def write_artifact(folder: Path, quick: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "metrics.json").write_text(json.dumps({"hyperparameters": {"quick": quick}}))


def required(out: Path, quick: bool, given: str = "") -> Path:
    return pipeline._required_artifact("generator", "classifier", "digits", given, out / "generator", quick, None)


def test_a_missing_digits_model_is_trained_first_next_to_the_generator(tmp_path, trainings):
    assert required(tmp_path, quick=True) == tmp_path / "digits"
    assert trainings == [("digits", tmp_path / "digits", True)]


def test_an_existing_digits_model_is_reused(tmp_path, trainings):
    write_artifact(tmp_path / "digits", quick=False)
    assert required(tmp_path, quick=False) == tmp_path / "digits"
    assert required(tmp_path, quick=True) == tmp_path / "digits"
    assert trainings == []


def test_a_full_run_does_not_let_a_quick_digits_model_judge_it(tmp_path, trainings):
    write_artifact(tmp_path / "digits", quick=True)
    assert required(tmp_path, quick=True) == tmp_path / "digits" and trainings == []
    assert required(tmp_path, quick=False) == tmp_path / "digits"
    assert trainings == [("digits", tmp_path / "digits", False)]


def test_a_named_classifier_is_used_as_is_and_must_exist(tmp_path, trainings):
    write_artifact(tmp_path / "elsewhere", quick=True)
    assert required(tmp_path, quick=False, given=str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    with pytest.raises(FileNotFoundError, match=r"classifier=.*nothing holds no trained digits model"):
        required(tmp_path, quick=False, given=str(tmp_path / "nothing"))
    assert trainings == []
