"""Every family's quick run: ONNX file, contract, manifest, golden examples, report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from lepton_serving.manifest import Manifest, TensorSpec

from lepton_training.manifest_writer import file_digest

# The serving contract, written out literally (not read from the code under test).
CONTRACT = {
    "tabular": ([TensorSpec("features", "FP32", [-1, 3])], [TensorSpec("probabilities", "FP32", [-1, 2])]),
    "digits": ([TensorSpec("image", "FP32", [-1, 8, 8])], [TensorSpec("probabilities", "FP32", [-1, 10])]),
    "sentiment": ([TensorSpec("tokens", "INT64", [-1, 32])], [TensorSpec("probabilities", "FP32", [-1, 2])]),
    "recommender": ([TensorSpec("user_id", "INT64", [-1])], [TensorSpec("scores", "FP32", [-1, 200])]),
    "generator": ([TensorSpec("z", "FP32", [-1, 32]), TensorSpec("label", "INT64", [-1])],
                  [TensorSpec("image", "FP32", [-1, 8, 8])]),
}
LABELS = {
    "tabular": ["malignant", "benign"],
    "digits": [str(d) for d in range(10)],
    "sentiment": ["negative", "positive"],
    "recommender": None,
    "generator": [str(d) for d in range(10)],
}
PREPROCESSING_KEYS = {
    "tabular": {"feature_names", "mean", "std", "normalization"},
    "digits": {"height", "width", "max_value", "ink"},
    "sentiment": {"tokenizer", "standardize", "split", "vocabulary", "sequence_length", "pad_id", "oov_id"},
    "recommender": {"num_users", "num_items", "synthetic", "data_seed"},
    "generator": {"latent_dim", "num_classes", "height", "width", "max_value", "ink", "sampler", "evaluation", "judge"},
}
METRIC_KEYS = {
    "tabular": {"accuracy", "f1_macro", "baseline_accuracy", "cv_accuracy_mean", "cv_f1_macro_mean"},
    "digits": {"accuracy", "f1_macro", "baseline_accuracy", "cv_accuracy_mean", "cv_f1_macro_mean"},
    "sentiment": {"accuracy", "f1_macro", "baseline_accuracy", "cv_accuracy_mean", "cv_f1_macro_mean"},
    "recommender": {"recall_at_10", "ndcg_at_10", "baseline_recall_at_10", "baseline_ndcg_at_10",
                    "cv_recall_at_10_mean", "cv_ndcg_at_10_mean"},
    # Shares, so within 0..1 (diversity and the Fréchet distance are not bounded by 1).
    "generator": {"conditional_accuracy", "baseline_conditional_accuracy", "real_conditional_accuracy",
                  "cv_conditional_accuracy_mean"},
}
GOLDEN_COUNT = {"generator": (10, 10)}  # one per digit; the others take 4 spread over the test split
FAMILIES = list(CONTRACT)


def manifest_of(artifact: Path) -> Manifest:
    return Manifest.from_json((artifact / "manifest.json").read_text())


@pytest.mark.parametrize("family", FAMILIES)
def test_onnx_file_passes_checker_and_is_self_contained(family: str, quick_artifacts) -> None:
    path = quick_artifacts(family) / "model.onnx"
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert sorted(p.name for p in path.parent.iterdir() if p.suffix not in {".json", ".md", ".png", ".onnx"}) == []


@pytest.mark.parametrize("family", FAMILIES)
def test_io_specs_match_the_serving_contract(family: str, quick_artifacts) -> None:
    artifact = quick_artifacts(family)
    manifest = manifest_of(artifact)
    inputs, outputs = CONTRACT[family]
    assert manifest.inputs == inputs
    assert manifest.outputs == outputs
    session = ort.InferenceSession(str(artifact / "model.onnx"))
    assert [(i.name, i.type) for i in session.get_inputs()] == [
        (s.name, "tensor(int64)" if s.datatype == "INT64" else "tensor(float)") for s in inputs
    ]
    assert [o.name for o in session.get_outputs()] == [s.name for s in outputs]
    # The batch dimension is free: 1 and 7 rows both work.
    for rows in (1, 7):
        feed = {s.name: np.zeros([rows, *s.shape[1:]], dtype=np.int64 if s.datatype == "INT64" else np.float32)
                for s in inputs}
        (out,) = session.run(None, feed)
        assert out.shape == (rows, *outputs[0].shape[1:])


@pytest.mark.parametrize("family", FAMILIES)
def test_manifest_is_complete_and_matches_the_file(family: str, quick_artifacts) -> None:
    artifact = quick_artifacts(family)
    manifest = manifest_of(artifact)
    sha256, size = file_digest(artifact / "model.onnx")
    assert (manifest.sha256, manifest.size) == (sha256, size)
    assert manifest.name == manifest.family == family
    assert manifest.version == 1
    assert manifest.labels == LABELS[family]
    assert set(manifest.preprocessing) >= PREPROCESSING_KEYS[family]
    assert set(manifest.metrics) >= METRIC_KEYS[family]
    for key in METRIC_KEYS[family]:
        assert 0.0 <= manifest.metrics[key] <= 1.0
    assert len(manifest.training_data_sha256) == 64
    assert set(manifest.framework) == {"tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "opset"}
    assert manifest.framework["opset"] == "17"
    assert manifest.quantized is False
    assert manifest.created_at.endswith("Z") and manifest.created_at[:2] == "20"
    low, high = GOLDEN_COUNT.get(family, (3, 5))
    assert low <= len(manifest.golden) <= high


@pytest.mark.parametrize("family", FAMILIES)
def test_golden_examples_reproduce_under_onnxruntime(family: str, quick_artifacts) -> None:
    artifact = quick_artifacts(family)
    manifest = manifest_of(artifact)
    session = ort.InferenceSession(str(artifact / "model.onnx"))
    dtypes = {s.name: np.dtype("int64" if s.datatype == "INT64" else "float32") for s in manifest.inputs}
    outputs = set()
    for example in manifest.golden:
        assert set(example.inputs) == {s.name for s in manifest.inputs}
        assert set(example.outputs) == {s.name for s in manifest.outputs}
        feed = {name: np.array(value, dtype=dtypes[name]) for name, value in example.inputs.items()}
        got = session.run(None, feed)
        for spec, value in zip(manifest.outputs, got):
            np.testing.assert_allclose(value, np.array(example.outputs[spec.name]), atol=manifest.golden_tolerance, rtol=0)
        outputs.add(json.dumps(example.outputs))
    assert len(outputs) == len(manifest.golden)  # distinct examples, not one row repeated


def test_metrics_json_agrees_with_manifest_and_report_exists(quick_artifacts) -> None:
    artifact = quick_artifacts("digits")
    metrics = json.loads((artifact / "metrics.json").read_text())
    manifest = manifest_of(artifact)
    assert metrics["test"]["accuracy"] == manifest.metrics["accuracy"]
    assert metrics["cv"]["folds"] == 2 and len(metrics["cv"]["per_fold"]) == 2
    assert metrics["export"]["parity_max_abs_diff"] <= 1e-4
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == metrics["data"]["test_size"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(manifest.metrics["accuracy"])
    report = (artifact / "report.md").read_text()
    assert "learning_curves.png" in report and "confusion_matrix.png" in report
    assert f"{manifest.metrics['accuracy']:.4f}" in report
    for png in ("learning_curves.png", "confusion_matrix.png"):
        assert (artifact / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tabular_preprocessing_is_in_graph_and_from_the_training_split(quick_artifacts) -> None:
    from lepton_training.data import tabular

    manifest = manifest_of(quick_artifacts("tabular"))
    pre = manifest.preprocessing
    assert pre["feature_names"] == tabular.FEATURES and pre["normalization"] == "in-graph"
    metrics = json.loads((quick_artifacts("tabular") / "metrics.json").read_text())
    assert metrics["data"]["subset"]["train"] == 96
    # Recompute the statistics from the (quick) training split: they must match exactly, and
    # must differ from the statistics of the whole data set (no test leakage).
    data = tabular.load(seed=42).subset(96, 48, seed=42)
    np.testing.assert_allclose(pre["mean"], data.x_train.astype(np.float64).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pre["std"], data.x_train.astype(np.float64).std(axis=0), rtol=1e-5)
    everything = np.concatenate([data.x_train, data.x_test]).astype(np.float64)
    assert not np.allclose(pre["mean"], everything.mean(axis=0), rtol=1e-5)
    # The statistics are baked into the graph as constants (serving sends raw features).
    from onnx import numpy_helper

    proto = onnx.load(str(quick_artifacts("tabular") / "model.onnx"))
    constants = [numpy_helper.to_array(t).reshape(-1) for t in proto.graph.initializer]
    assert any(c.shape == (3,) and np.allclose(c, pre["mean"], rtol=1e-6) for c in constants)
    # The seed network exactly: two MatMuls, 3x5 and 5x2.
    weights = sorted(numpy_helper.to_array(t).shape for t in proto.graph.initializer if len(t.dims) == 2)
    assert weights == [(3, 5), (5, 2)]


def test_sentiment_vocabulary_and_int64_tokens(quick_artifacts) -> None:
    manifest = manifest_of(quick_artifacts("sentiment"))
    pre = manifest.preprocessing
    vocab = pre["vocabulary"]
    assert vocab[:2] == ["", "[UNK]"] and len(vocab) == len(set(vocab))
    assert pre["sequence_length"] == 32 and pre["pad_id"] == 0 and pre["oov_id"] == 1
    assert pre["standardize"] == "lower_and_strip_punctuation" and pre["split"] == "whitespace"
    session = ort.InferenceSession(str(quick_artifacts("sentiment") / "model.onnx"))
    with pytest.raises(Exception):  # onnxruntime is strict: int32 ids are refused
        session.run(None, {"tokens": np.ones((1, 32), dtype=np.int32)})
    # Golden token ids are valid vocabulary indices.
    for example in manifest.golden:
        ids = np.array(example.inputs["tokens"])
        assert ids.shape == (1, 32) and ids.min() >= 0 and ids.max() < len(vocab)


def test_recommender_is_declared_synthetic(quick_artifacts) -> None:
    artifact = quick_artifacts("recommender")
    manifest = manifest_of(artifact)
    assert manifest.preprocessing["synthetic"] is True
    assert manifest.preprocessing["num_users"] == 120 and manifest.preprocessing["num_items"] == 200
    metrics = json.loads((artifact / "metrics.json").read_text())
    assert metrics["data"]["synthetic"] is True
    assert (artifact / "ranking.png").read_bytes()[:4] == b"\x89PNG"
