"""Data loading, cleaning, splitting and the ranking/classification metrics."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from lepton_training.data import digits, recommender, sentiment, tabular
from lepton_training.evaluate import f1_macro, majority_baseline, popularity_baseline, ranking_metrics

SENTIMENT_SHA256 = {  # measured on the UCI files (training/data/sentiment/README.md)
    "imdb_labelled.txt": "aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d",
    "amazon_cells_labelled.txt": "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3",
    "yelp_labelled.txt": "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea",
}


def test_in_repo_sentiment_copy_is_the_documented_data() -> None:
    root = sentiment.DEFAULT_DIR
    assert root.parts[-3:] == ("training", "data", "sentiment")
    for name, digest in SENTIMENT_SHA256.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest
    assert "CC BY 4.0" in (root / "README.md").read_text()


def test_sentiment_parsing_handles_the_quirks() -> None:
    rows = sentiment.read_file(sentiment.DEFAULT_DIR / "imdb_labelled.txt")
    assert len(rows) == 1000  # U+0085 inside sentences must not split lines
    assert sum(label for _, label in rows) == 500
    assert all(s == s.strip() and "\t" not in s for s, _ in rows)
    assert sum(s.startswith('"') for s, _ in rows) == 6


def test_sentiment_split_is_deduplicated_disjoint_and_seeded() -> None:
    data = sentiment.load(seed=42)
    assert data.info["rows"] == len(data.y_train) + len(data.y_test)
    assert 2900 < data.info["rows"] < 3000 and data.info["duplicates_dropped"] > 0
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    assert not {norm(s) for s in data.x_train} & {norm(s) for s in data.x_test}
    again = sentiment.load(seed=42)
    assert again.sha256 == data.sha256 and sentiment.load(seed=1).sha256 != data.sha256
    assert abs(data.y_test.mean() - data.y_train.mean()) < 0.02  # stratified


def test_sentiment_data_dir_can_be_overridden(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="lacks"):
        sentiment.load(directory=tmp_path)


@pytest.mark.slow
def test_tabular_features_are_what_the_selection_criterion_picks() -> None:
    bunch_x, y, names = tabular._raw()
    train, _ = tabular.split_indices(bunch_x, y, 0.2, 42)
    assert tabular.select_features(bunch_x[train], y[train], names) == tabular.FEATURES


def test_tabular_and_digits_splits() -> None:
    data = tabular.load()
    assert data.x_train.shape == (455, 3) and data.x_test.shape == (114, 3) and data.x_train.dtype == np.float32
    assert data.labels == ["malignant", "benign"]
    d = digits.load()
    assert d.x_train.shape[1:] == (8, 8) and d.x_train.max() == 16.0 and d.x_train.min() == 0.0
    assert len(d.y_train) + len(d.y_test) == d.info["rows"] and set(np.unique(d.y_test)) == set(range(10))


def test_synthetic_interactions_are_seeded_and_held_out_per_user() -> None:
    a = recommender.generate(num_users=50, num_items=60, seed=3)
    b = recommender.generate(num_users=50, num_items=60, seed=3)
    c = recommender.generate(num_users=50, num_items=60, seed=4)
    assert a.sha256 == b.sha256 != c.sha256
    assert a.info["synthetic"] is True
    train = {tuple(p) for p in a.train.tolist()}
    test = {tuple(p) for p in a.test.tolist()}
    assert not train & test
    assert set(np.unique(a.test[:, 0])) == set(range(50))  # every user has held-out items
    folds = recommender.user_folds(a.train, 3, seed=0)
    assert np.all(np.sum(folds, axis=0) == 1)


def test_ranking_metrics_on_a_hand_computed_case() -> None:
    # 1 user, 5 items. Item 0 was seen in training and must be skipped; held out: items 1 and 3.
    scores = np.array([[9.0, 1.0, 8.0, 7.0, 0.0]])
    metrics = ranking_metrics(lambda users: scores, np.array([[0, 1], [0, 3]]), np.array([[0, 0]]), k=2)
    # Ranking without item 0: 2, 3, 1, 4 -> top-2 = [2, 3]: one hit at rank 2.
    assert metrics["recall_at_2"] == pytest.approx(0.5)
    assert metrics["ndcg_at_2"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))


def test_popularity_baseline_and_classification_metrics() -> None:
    train = np.array([[0, 0], [1, 0], [1, 1], [2, 2]])
    held = np.array([[0, 1], [2, 0]])
    # Popularity order 0, 1, 2; user 0 has seen 0 -> top-1 is 1 (hit); user 2 has seen 2 -> top-1 is 0 (hit).
    assert popularity_baseline(train, held, 4, k=1) == {"baseline_recall_at_1": 1.0, "baseline_ndcg_at_1": 1.0}
    y = np.array([0, 0, 1, 1, 2])
    assert f1_macro(y, np.array([0, 0, 1, 1, 2]), 3) == 1.0
    assert f1_macro(y, np.array([0, 1, 1, 1, 2]), 3) == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    assert majority_baseline(np.array([1, 1, 0]), np.array([1, 0, 0, 0]), 2)["baseline_accuracy"] == 0.25
