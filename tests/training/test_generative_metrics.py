"""The generator's metrics and trivial generators on hand-made cases, and its judge on a real ONNX classifier."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from lepton_training import generative_metrics as gm
from lepton_training.judge import Judge, JudgeError, penultimate


def test_identical_images_have_no_diversity():
    images = np.repeat(np.arange(64, dtype=np.float32).reshape(1, 8, 8), 5, axis=0)
    assert gm.mean_pairwise_distance(images, np.zeros(5, np.int64)) == 0.0
    assert gm.diversity(images, np.zeros(5, np.int64), images + np.eye(8) * np.arange(5)[:, None, None],
                        np.zeros(5, np.int64)) == 0.0


def test_mean_pairwise_distance_is_averaged_within_classes_never_across():
    # class 0: two images 5 apart (a 3-4-5 triangle); class 1: three images on a line, 0-2-4 apart
    a = np.zeros((8, 8)); b = np.zeros((8, 8)); b[0, 0], b[0, 1] = 3, 4
    c = [np.full((8, 8), v / 8) for v in (0, 2, 4)]  # distance between v and w is |v - w|
    images = np.stack([a, b, *c])
    labels = np.array([0, 0, 1, 1, 1])
    # class 0: 5; class 1: pairs 2, 4, 2 -> 8/3; mean over the two classes
    assert gm.mean_pairwise_distance(images, labels) == pytest.approx((5 + 8 / 3) / 2)
    # the far-apart classes would dominate if pairs across classes counted
    assert gm.mean_pairwise_distance(images + np.array([0, 0, 100, 100, 100])[:, None, None], labels) == \
        pytest.approx((5 + 8 / 3) / 2)


def test_diversity_is_the_generated_spread_over_the_real_spread():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 8, 8))
    labels = np.repeat([0, 1], 20)
    assert gm.diversity(real * 0.5, labels, real, labels) == pytest.approx(0.5)
    assert gm.diversity(real, labels, real, labels) == pytest.approx(1.0)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(1).normal(size=(300, 16))
    assert gm.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift():
    features = np.random.default_rng(2).normal(size=(300, 16))
    shift = np.arange(16) / 10.0
    assert gm.frechet_distance(features, features + shift) == pytest.approx(float(shift @ shift), rel=1e-6)


def test_frechet_distance_of_a_scaled_set_follows_the_gaussian_formula():
    # b = 2a (centred): S_b = 4 S_a, so Tr(S_a + 4 S_a - 2 (4 S_a^2)^1/2) = Tr(S_a)
    a = np.random.default_rng(3).normal(size=(500, 6)) @ np.diag([1, 2, 3, 0.5, 1, 1])
    a -= a.mean(axis=0)
    assert gm.frechet_distance(a, 2 * a) == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-6)


def test_conditional_accuracy_counts_images_read_as_the_class_asked_for():
    assert gm.conditional_accuracy(np.array([3, 3, 1, 7]), np.array([3, 3, 3, 7])) == 0.75


def test_class_mean_and_noise_is_centred_on_the_class_mean_with_its_spread():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(2, 6, (50, 8, 8)), rng.uniform(10, 14, (50, 8, 8))]).astype(np.float32)
    y = np.repeat([0, 1], 50)
    labels = np.repeat([1, 0], 2000)
    images = gm.class_mean_and_noise(x, y, labels, np.random.default_rng(5))
    assert images.shape == (4000, 8, 8) and images.min() >= 0 and images.max() <= 16
    np.testing.assert_allclose(images[:2000].mean(axis=0), x[50:].mean(axis=0), atol=0.15)
    np.testing.assert_allclose(images[:2000].std(axis=0), x[50:].std(axis=0), rtol=0.1)
    np.testing.assert_allclose(images[2000:].mean(axis=0), x[:50].mean(axis=0), atol=0.15)


def test_real_training_images_are_images_of_the_class_asked_for_without_repeats():
    x = np.arange(30 * 64, dtype=np.float32).reshape(30, 8, 8)
    y = np.repeat([0, 1, 2], 10)
    labels = np.array([2, 0, 2, 1] * 2)
    images = gm.real_training_images(x, y, labels, np.random.default_rng(6))
    index = (images[:, 0, 0] // 64).astype(int)  # which training image each one is
    assert (y[index] == labels).all()
    assert len(set(index.tolist())) == len(labels)
    many = gm.real_training_images(x, y, np.zeros(25, np.int64), np.random.default_rng(6))  # more than 10: repeats
    assert set((many[:, 0, 0] // 64).astype(int).tolist()) <= set(range(10))


def test_reference_metrics_score_both_trivial_generators_with_the_judge():
    # A judge that reads the class from the mean ink (classes are well apart) and uses the pixels as features.
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0, 4, (60, 8, 8)), rng.uniform(8, 12, (60, 8, 8))]).astype(np.float32)
    y = np.repeat([0, 1], 60)
    judge = lambda images: ((images.mean(axis=(1, 2)) > 6).astype(int), images.reshape(len(images), -1))  # noqa: E731
    labels = np.tile([0, 1], 30)
    result = gm.reference_metrics(judge, x[::2], y[::2], labels, x[1::2], y[1::2], seed=0)
    assert set(result) == {f"{p}{m}" for p in ("baseline_", "real_")
                           for m in ("conditional_accuracy", "diversity", "frechet_distance")}
    assert result["real_conditional_accuracy"] == 1.0 and result["baseline_conditional_accuracy"] == 1.0
    assert result["real_diversity"] == pytest.approx(1.0, abs=0.1)
    assert 0 <= result["real_frechet_distance"] < result["baseline_frechet_distance"] + 1e-9


# ------------------------------------------------------------------------------------------ the judge
def classifier_folder(tmp_path, model_bytes: bytes):
    (tmp_path / "model.onnx").write_bytes(model_bytes)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 3, "metrics": {"accuracy": 0.9}}))
    return tmp_path


def test_the_judge_reads_classes_and_penultimate_features_from_the_served_onnx_file(tmp_path):
    import family_models as fm
    from sklearn.datasets import load_digits

    # GIVEN the test digits classifier: image -> x/16 (flattened) -> MatMul -> Add -> Softmax
    judge = Judge(classifier_folder(tmp_path, fm.digits_model()))
    images = load_digits().images[:20].astype(np.float32)
    predicted, features = judge(images)
    expected = fm.run(fm.digits_model(), {"image": images})["probabilities"].argmax(axis=1)
    np.testing.assert_array_equal(predicted, expected)
    # THEN the features are what feeds the classification layer: the scaled, flattened pixels
    np.testing.assert_allclose(features, images.reshape(20, 64) / 16.0, rtol=1e-6)
    assert judge.describe()["version"] == 3 and judge.describe()["held_out_accuracy"] == 0.9
    assert len(judge.describe()["sha256"]) == 64


def test_penultimate_refuses_a_graph_without_a_classification_layer():
    nodes = [helper.make_node("Relu", ["image"], ["probabilities"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 4])])
    with pytest.raises(JudgeError, match="penultimate"):
        penultimate(helper.make_model(graph))


def test_penultimate_finds_the_dense_input_of_the_trained_digits_graph(quick_artifacts):
    proto = onnx.load(str(quick_artifacts("digits") / "model.onnx"))
    name = penultimate(proto)
    producer = next(n for n in proto.graph.node if name in n.output)
    assert producer.op_type == "Relu"  # Dense(64, relu), the layer before the softmax layer
