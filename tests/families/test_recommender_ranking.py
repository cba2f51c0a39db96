"""Top-k for a whole batch at once equals a stable sort of each row alone, ties and NaN included."""
from __future__ import annotations

import numpy as np
import pytest

import family_models as fm
from recommender.ranking import top_k_items


def plain_top_k(scores: np.ndarray, k: int, exclude: np.ndarray) -> tuple[list[list[int]], list[list[float]]]:
    """One row at a time: a stable sort by descending score, the excluded items dropped, the first k."""
    items, values = [], []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        if exclude.size:
            order = order[~np.isin(order, exclude)]
        items.append([int(i) for i in order[:k]])
        values.append([float(row[i]) for i in order[:k]])
    return items, values


def assert_ranked_like_each_row_alone(scores: np.ndarray, k: int, exclude: list[int]) -> None:
    excluded = np.asarray(exclude, dtype=np.int64)
    items, values = top_k_items(scores, k, excluded)
    expected_items, expected_values = plain_top_k(scores, k, excluded)
    assert items.tolist() == expected_items
    np.testing.assert_array_equal(values, np.asarray(expected_values, dtype=np.float64).reshape(values.shape))


def served_scores(users: int, seed: int) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(0, fm.NUM_USERS, users).astype(np.int64)
    return fm.run(fm.recommender_model(), {"user_id": ids})["scores"]


@pytest.mark.parametrize("k", [1, 2, 10, fm.NUM_ITEMS - 1, fm.NUM_ITEMS, fm.NUM_ITEMS + 5])
@pytest.mark.parametrize("exclude", [[], [0], [3, 3, 11], list(range(0, fm.NUM_ITEMS, 2))])
def test_onnxruntime_scores_of_64_users_rank_like_each_row_alone(k, exclude):
    assert_ranked_like_each_row_alone(served_scores(64, seed=k), k, exclude)


@pytest.mark.parametrize("k", [1, 3, 7, 19])
def test_ties_at_and_around_the_kth_place_go_to_the_lower_item_id(k):
    # Scores from a handful of values: most rows tie across the k-th place, some rows do not.
    scores = np.random.default_rng(k).integers(0, 4, size=(64, 20)).astype(np.float32)
    scores[::7] = np.arange(20, dtype=np.float32)  # distinct scores in a few rows
    assert_ranked_like_each_row_alone(scores, k, [])
    assert_ranked_like_each_row_alone(scores, k, [2, 5])


def test_nan_scores_rank_last_as_a_stable_sort_puts_them():
    scores = served_scores(8, seed=1)
    scores[0, :] = np.nan  # a whole row of NaN
    scores[1, :fm.NUM_ITEMS - 3] = np.nan  # fewer real scores than k
    scores[2, [4, 9]] = np.nan  # a few NaN among real scores
    assert_ranked_like_each_row_alone(scores, 5, [])
    assert_ranked_like_each_row_alone(scores, 5, [9])


def test_minus_zero_and_zero_are_a_tie():
    scores = np.zeros((3, 6), dtype=np.float32)
    scores[:, ::2] = -0.0
    scores[1, 5] = 1.0
    assert_ranked_like_each_row_alone(scores, 3, [])
    items, _ = top_k_items(scores, 3)
    assert items.tolist() == [[0, 1, 2], [5, 0, 1], [0, 1, 2]]


def test_excluding_every_item_leaves_each_user_an_empty_list():
    items, values = top_k_items(served_scores(4, seed=3), 5, np.arange(fm.NUM_ITEMS))
    assert items.shape == values.shape == (4, 0)


def test_one_user_ranks_as_in_a_batch_of_64():
    scores = served_scores(64, seed=9)
    together, _ = top_k_items(scores, 10, np.array([1, 2]))
    for row in (0, 17, 63):
        alone, _ = top_k_items(scores[row:row + 1], 10, np.array([1, 2]))
        assert alone.tolist() == together[row:row + 1].tolist()
