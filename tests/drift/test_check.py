"""A live window against its profile: each feature's level, and "not enough data" instead of a false alarm."""
from __future__ import annotations

import numpy as np
import pytest
from lepton_drift.check import Level, Thresholds, compare
from lepton_drift.features import TableFeatures
from lepton_drift.profile import build_profile

NAMES = ("a", "b", "c")
LABELS = ("no", "yes")


def table(rows: int, seed: int, scale: tuple[float, float, float] = (1, 1, 1)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=[10.0, 0.1, 20.0], scale=[2.0, 0.02, 4.0], size=(rows, 3)) * np.asarray(scale)
    scores = np.stack([x[:, 0] < 10, x[:, 0] >= 10], axis=1).astype(np.float32)
    return {"features": x.astype(np.float32), "probabilities": scores}


@pytest.fixture(scope="module")
def extractor() -> TableFeatures:
    return TableFeatures("features", NAMES, "probabilities", LABELS)


@pytest.fixture(scope="module")
def profile(extractor: TableFeatures):
    data = table(2000, seed=1)
    return build_profile(extractor, extractor.columns(data, data), model="t", source="training")


def check(extractor, profile, data, thresholds: Thresholds = Thresholds()):
    return compare(profile, extractor.columns(data, data), thresholds, "t", "1")


def test_a_second_sample_of_the_same_population_is_no_drift(extractor, profile) -> None:
    report = check(extractor, profile, table(1000, seed=2))
    assert report.level == Level.OK and report.message == "no drift"
    assert all(f.psi is not None and f.psi < 0.05 for f in report.features)
    assert all(f.p_value > 0.001 for f in report.features)


def test_one_feature_scaled_by_three_is_the_only_input_over_the_alarm(extractor, profile) -> None:
    report = check(extractor, profile, table(1000, seed=2, scale=(1, 3, 1)))
    levels = {f.name: f.level for f in report.features if f.role == "input"}
    assert levels == {"a": Level.OK, "b": Level.ALARM, "c": Level.OK}
    assert report.level == Level.ALARM and report.message.startswith("drift: b (PSI ")
    assert report.features[1].test == "ks" and report.features[1].p_value < 1e-10


def test_a_shifted_prediction_is_flagged_as_a_prediction(extractor, profile) -> None:
    report = check(extractor, profile, table(1000, seed=2, scale=(1.5, 1, 1)))
    prediction = next(f for f in report.features if f.name == "prediction")
    assert prediction.role == "prediction" and prediction.level == Level.ALARM and prediction.test == "chi2"


def test_a_few_rows_are_not_enough_data_even_when_they_moved(extractor, profile) -> None:
    # GIVEN 40 rows, all of them far out
    report = check(extractor, profile, table(40, seed=2, scale=(3, 3, 3)))
    # THEN nothing is judged: the report says how many rows it needs
    assert report.level == Level.NOT_ENOUGH_DATA
    assert all(f.psi is None and f.level == Level.NOT_ENOUGH_DATA for f in report.features)
    assert report.message.startswith("not enough data: 40 live rows, at least ")


def test_rows_needed_follow_the_noise_floor() -> None:
    thresholds = Thresholds(warning=0.1, alarm=0.25, min_rows=100)
    # 9 / (0.05 - 9 / 2000) = 197.8: below that many rows, noise alone reaches half the warning
    assert thresholds.rows_needed(10, 2000) == 198
    assert thresholds.rows_needed(2, 100_000) == 100  # never fewer than min_rows
    assert thresholds.rows_needed(10, 100) == -1  # the reference alone is too small


def test_thresholds_are_settable_and_checked(extractor, profile) -> None:
    data = table(1000, seed=2, scale=(1, 1.1, 1))  # PSI about 0.2
    strict = check(extractor, profile, data, Thresholds(warning=0.05, alarm=0.1))
    lenient = check(extractor, profile, data, Thresholds(warning=5, alarm=10))
    assert strict.features[1].level == Level.ALARM and lenient.features[1].level == Level.OK
    with pytest.raises(ValueError, match="warning <= alarm"):
        Thresholds(warning=0.3, alarm=0.2)


def test_a_category_training_never_saw_counts_against_the_reference(extractor, profile) -> None:
    from lepton_drift.check import compare_feature

    live = np.asarray(["no"] * 300 + ["maybe"] * 300, dtype=object)
    drift = compare_feature(profile.feature("prediction"), live, Thresholds())
    assert drift.labels == ["no", "yes", "maybe"] and drift.level == Level.ALARM
