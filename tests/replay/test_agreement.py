"""Each task's comparison of a candidate's answers with the live version's, row by row, and the
task and thresholds a manifest gets."""
from __future__ import annotations

import numpy as np
import pytest

import family_models as fm
from lepton_deploy.replay import DEFAULTS, infer_task, task_of, thresholds
from lepton_deploy.replay.tasks import judged_output
from lepton_deploy.replay.agreement import compare
from lepton_serving.manifest import Manifest, ManifestError, Task, TensorSpec
from onnx_models import manifest_for, mlp_model

RNG = np.random.default_rng(7)


def no_failures(rows: int) -> np.ndarray:
    return np.zeros(rows, dtype=bool)


def test_classifier_agreement_is_the_share_of_rows_with_the_same_top_class():
    live = RNG.dirichlet([1, 1, 1], size=200).astype(np.float32)
    candidate = live.copy()
    candidate[:38] = candidate[:38, ::-1]  # 38 rows answered with the scores reversed
    changed = np.argmax(live[:38], 1) != np.argmax(candidate[:38], 1)
    result = compare(Task.CLASSIFIER, DEFAULTS[Task.CLASSIFIER], "p", {"p": live}, {"p": candidate}, no_failures(200))
    assert result.figures["agreement"] == pytest.approx(1 - changed.sum() / 200)
    assert result.disagreeing == np.flatnonzero(changed).tolist()
    assert result.passed == (result.figures["agreement"] >= 0.9)


def test_swapped_outputs_agree_on_no_row_and_the_headline_names_the_figure():
    live = RNG.dirichlet([1, 1], size=200).astype(np.float32)
    result = compare(Task.CLASSIFIER, {"min_agreement": 0.9}, "p", {"p": live}, {"p": live[:, ::-1]}, no_failures(200))
    assert not result.passed and result.figures["agreement"] == 0.0
    assert result.headline(200, 200) == "agreement 0.00 on 200 captured requests (min 0.90)"
    assert result.headline(150, 200) == "agreement 0.00 on 150 captured requests, 200 rows (min 0.90)"


def test_a_row_the_candidate_failed_to_answer_disagrees():
    live = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    failed = np.array([False, True, False, False])
    result = compare(Task.CLASSIFIER, DEFAULTS[Task.CLASSIFIER], "p", {"p": live}, {"p": live.copy()}, failed)
    assert result.figures["agreement"] == 0.75 and result.disagreeing == [1]


def test_regressor_relative_error_quantiles_judge_p90():
    live = RNG.uniform(1, 10, size=(100, 1))
    candidate = live * (1 + np.linspace(0, 0.2, 100)[:, None])  # 0 % .. 20 % off, evenly
    result = compare(Task.REGRESSOR, DEFAULTS[Task.REGRESSOR], "y", {"y": live}, {"y": candidate}, no_failures(100))
    assert result.figures["p50_relative_error"] == pytest.approx(0.1, abs=0.002)
    assert result.figures["p90_relative_error"] == pytest.approx(0.18, abs=0.002)
    assert not result.passed  # p90 0.18 > the default 0.1
    assert result.measured.startswith("relative error p50 0.1, p90 0.18, p99 0.2")
    loose = compare(Task.REGRESSOR, {"max_p90_relative_error": 0.25}, "y", {"y": live}, {"y": candidate},
                    no_failures(100))
    assert loose.passed


def test_regressor_values_near_zero_do_not_turn_rounding_into_huge_ratios():
    live = np.array([[0.0], [1e-9], [5.0], [4.0]])
    candidate = live + 1e-7
    result = compare(Task.REGRESSOR, DEFAULTS[Task.REGRESSOR], "y", {"y": live}, {"y": candidate}, no_failures(4))
    assert result.passed and result.figures["p99_relative_error"] < 1e-3


def test_ranker_overlap_at_k_is_the_share_of_the_live_top_k_kept():
    live = RNG.normal(size=(50, 40))
    candidate = live.copy()
    order = np.argsort(-live, axis=1)
    for row in range(50):  # push 3 of each row's top 10 down to the bottom
        candidate[row, order[row, :3]] = -100.0
    result = compare(Task.RANKER, DEFAULTS[Task.RANKER], "s", {"s": live}, {"s": candidate}, no_failures(50))
    assert result.figures == {"overlap_at_k": 0.7, "k": 10}
    assert result.passed and result.measured == "overlap@10 0.70"
    strict = compare(Task.RANKER, {"k": 5, "min_overlap": 0.9}, "s", {"s": live}, {"s": candidate}, no_failures(50))
    assert strict.figures["overlap_at_k"] == 0.4 and not strict.passed


def class_images(labels: np.ndarray, templates: np.ndarray, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return templates[labels] + rng.normal(scale=noise, size=(len(labels), *templates.shape[1:]))


def test_generator_conditional_agreement_tells_a_retrained_generator_from_one_with_classes_permuted():
    templates = np.random.default_rng(0).uniform(0, 16, size=(10, 8, 8))
    labels = np.arange(200) % 10
    live = class_images(labels, templates, 2.0, 1)
    retrained = class_images(labels, templates, 2.5, 2)  # other samples of the same classes
    permuted = class_images((labels + 1) % 10, templates, 2.0, 3)  # asked for a 3, draws a 4
    inputs = {"z": np.zeros((200, 32), np.float32), "label": labels.astype(np.int64)}
    limits = DEFAULTS[Task.GENERATOR]
    good = compare(Task.GENERATOR, limits, "image", {"image": live}, {"image": retrained}, no_failures(200), inputs)
    bad = compare(Task.GENERATOR, limits, "image", {"image": live}, {"image": permuted}, no_failures(200), inputs)
    assert good.passed and good.figures["agreement"] > 0.95 and good.figures["live_agreement"] > 0.95
    assert not bad.passed and bad.figures["agreement"] < 0.1
    assert bad.measured.startswith("conditional agreement 0.0") and "(live 1.00)" in bad.measured


def test_generator_requests_for_a_single_class_cannot_be_judged_and_say_so():
    labels = np.full(40, 3, np.int64)
    images = np.ones((40, 8, 8))
    result = compare(Task.GENERATOR, DEFAULTS[Task.GENERATOR], "image", {"image": images}, {"image": images},
                     no_failures(40), {"label": labels})
    assert result.skipped == "every captured request asked for class 3; telling classes apart needs two or more"


# -- tasks and thresholds -------------------------------------------------------------------------------
def test_each_family_has_its_task_and_a_manifest_may_declare_one():
    assert task_of(fm.recommender_manifest())[0] is Task.RANKER
    assert task_of(fm.generator_manifest())[0] is Task.GENERATOR
    assert task_of(fm.digits_manifest()) == (Task.CLASSIFIER, "the digits family's")
    tabular = manifest_for(mlp_model(1).SerializeToString(), family="churn")
    assert task_of(tabular)[0] is Task.CLASSIFIER
    tabular.task = "regressor"
    assert task_of(tabular) == (Task.REGRESSOR, "from the manifest")


@pytest.mark.parametrize("outputs, labels, inputs, task", [
    ([TensorSpec("p", "FP32", [-1, 2])], ["a", "b"], [], Task.CLASSIFIER),
    ([TensorSpec("p", "FP32", [-1, 5])], None, [], Task.CLASSIFIER),
    ([TensorSpec("label", "BYTES", [-1])], None, [], Task.CLASSIFIER),
    ([TensorSpec("y", "FP32", [-1, 1])], None, [], Task.REGRESSOR),
    ([TensorSpec("y", "FP32", [-1])], None, [], Task.REGRESSOR),
    ([TensorSpec("img", "FP32", [-1, 8, 8])], None, [TensorSpec("z", "FP32", [-1, 16])], Task.GENERATOR),
    # what scikit-learn exports for a classifier: the class id first, then the probabilities
    ([TensorSpec("label", "INT64", [-1]), TensorSpec("probabilities", "FP32", [-1, 2])], None, [], Task.CLASSIFIER),
])
def test_a_task_is_read_from_a_signature(outputs, labels, inputs, task):
    assert infer_task(inputs or [TensorSpec("x", "FP32", [-1, 3])], outputs, labels)[0] is task


def test_a_classifier_is_judged_on_its_scores_else_its_class_per_row():
    sklearn = [TensorSpec("label", "INT64", [-1]), TensorSpec("probabilities", "FP32", [-1, 2])]
    assert judged_output(Task.CLASSIFIER, sklearn, None) == "probabilities"
    assert judged_output(Task.CLASSIFIER, sklearn[:1], None) == "label"
    assert judged_output(Task.REGRESSOR, [TensorSpec("y", "FP32", [-1, 1])], None) == "y"
    ids = np.array([[3], [1], [2]])
    result = compare(Task.CLASSIFIER, DEFAULTS[Task.CLASSIFIER], "label", {"label": ids},
                     {"label": np.array([[3], [2], [2]])}, no_failures(3))
    assert result.figures["agreement"] == pytest.approx(2 / 3, abs=1e-4) and result.disagreeing == [1]


def test_manifest_thresholds_override_the_tasks_defaults_and_are_checked():
    manifest = fm.recommender_manifest()
    assert thresholds(manifest, Task.RANKER) == {"k": 10, "min_overlap": 0.5}
    manifest.replay = {"k": 20, "min_overlap": 0.3}
    assert thresholds(manifest, Task.RANKER) == {"k": 20.0, "min_overlap": 0.3}
    for wrong, fragment in [({"min_agreement": 0.9}, "do not apply to a ranker"), ({"min_overlap": 1.5}, "from 0 to 1"),
                            ({"k": 2.5}, "whole number")]:
        manifest.replay = wrong
        with pytest.raises(ValueError, match=fragment):
            thresholds(manifest, Task.RANKER)


def test_a_manifest_with_an_unknown_task_or_a_threshold_that_is_not_a_number_is_invalid():
    doc = manifest_for(mlp_model(1).SerializeToString()).to_dict()
    with pytest.raises(ManifestError, match="task must be one of classifier, regressor, ranker, generator"):
        Manifest.from_dict({**doc, "task": "clustering"})
    with pytest.raises(ManifestError, match="replay thresholds must be finite numbers"):
        Manifest.from_dict({**doc, "replay": {"min_agreement": "high"}})
    assert Manifest.from_dict({**doc, "task": "classifier", "replay": {"min_agreement": 0.95}}).replay == {
        "min_agreement": 0.95}
