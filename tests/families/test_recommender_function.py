"""The recommender function end to end: events, scores vs onnxruntime, top-k, exclusions, bad ids."""
from __future__ import annotations

import numpy as np
import pytest

import family_models as fm
from eventfiles import load_event
from family_harness import assert_refused, call, with_body

PREDICT = "recommender/predict.json"
INFER = "recommender/infer.json"


def scores_for(users: list[int]) -> np.ndarray:
    return fm.run(fm.recommender_model(), {"user_id": np.asarray(users, dtype=np.int64)})["scores"]


def ranked(row: np.ndarray, k: int, exclude: set[int] = frozenset()) -> list[int]:
    """Top k written plainly (sorted by score, then id), independent of the function's argsort."""
    return sorted((i for i in range(len(row)) if i not in exclude), key=lambda i: (-row[i], i))[:k]


def test_infer_returns_every_items_score_from_onnxruntime(recommender):
    code, body = call(recommender, load_event(INFER))
    assert code == 200 and body["id"] == "req-1"
    (output,) = body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("scores", "FP32", [2, fm.NUM_ITEMS])
    np.testing.assert_allclose(output["data"], scores_for([7, 42]).ravel(), rtol=1e-6)


def test_predict_returns_the_top_k_without_the_excluded_items(recommender):
    # GIVEN user 7's best two items, excluded WHEN asking for 5 THEN the next five come back in order
    row = scores_for([7])[0]
    best_two = ranked(row, 2)
    code, body = call(recommender, with_body(PREDICT, {"user_id": 7, "k": 5, "exclude": best_two}))
    assert code == 200
    (result,) = body["recommendations"]
    assert result["user_id"] == 7
    assert [i["item_id"] for i in result["items"]] == ranked(row, 5, set(best_two))
    assert not set(best_two) & {i["item_id"] for i in result["items"]}
    np.testing.assert_allclose([i["score"] for i in result["items"]], row[ranked(row, 5, set(best_two))], rtol=1e-6)


def test_predict_ranks_several_users_with_the_default_k_of_ten(recommender):
    users = [0, 49, 7, 7]
    code, body = call(recommender, with_body(PREDICT, {"user_ids": users}))
    expected = scores_for(users)
    assert code == 200 and [r["user_id"] for r in body["recommendations"]] == users
    for result, row in zip(body["recommendations"], expected, strict=True):
        assert [i["item_id"] for i in result["items"]] == ranked(row, 10)


def test_excluding_almost_everything_returns_what_is_left(recommender):
    exclude = list(range(fm.NUM_ITEMS - 2))
    _, body = call(recommender, with_body(PREDICT, {"user_id": 3, "k": 5, "exclude": exclude}))
    row = scores_for([3])[0]
    assert [i["item_id"] for i in body["recommendations"][0]["items"]] == ranked(row, 5, set(exclude))
    assert len(body["recommendations"][0]["items"]) == 2


def test_k_may_be_as_large_as_the_catalogue(recommender):
    code, body = call(recommender, with_body(PREDICT, {"user_id": 1, "k": fm.NUM_ITEMS}))
    assert code == 200 and len(body["recommendations"][0]["items"]) == fm.NUM_ITEMS


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"user_id": fm.NUM_USERS}, 400, f"unknown user id(s) {fm.NUM_USERS}; user ids are whole numbers 0..49"),
        ({"user_id": -1}, 400, "unknown user id(s) -1"),
        ({"user_id": 2.5}, 400, "user ids are whole numbers"),
        ({"user_id": "7"}, 400, "user ids are whole numbers"),
        ({"user_id": True}, 400, "user ids are whole numbers"),
        ({"user_id": None}, 400, "user ids are whole numbers"),
        ({"user_ids": 7}, 400, "'user_ids' must be a list"),
        ({"user_ids": [1, 2, 99, -3]}, 400, "unknown user id(s) 99, -3"),
        ({"user_ids": list(range(50)) + list(range(15))}, 422, "65 users is above this model's maximum of 64"),
        ({"user_ids": []}, 400, "at least one"),
        ({"user_id": 7, "k": fm.NUM_ITEMS + 1}, 422, f"the most this model returns is {fm.NUM_ITEMS}"),
        ({"user_id": 7, "k": 0}, 400, "'k' must be a whole number from 1 to 40"),
        ({"user_id": 7, "k": "5"}, 400, "'k' must be a whole number"),
        ({"user_id": 7, "exclude": [fm.NUM_ITEMS]}, 400, "unknown item id(s) 40; item ids are whole numbers 0..39"),
        ({"user_id": 7, "exclude": ["a"]}, 400, "item ids are whole numbers"),
        ({"user_id": 7, "exclude": 3}, 400, "'exclude' must be a list of item ids"),
        ({"user": 7}, 400, 'send {"user_id": 42}'),
        ({"user_id": 1, "user_ids": [2]}, 400, 'send {"user_id": 42}'),
    ],
)
def test_bad_friendly_requests_get_a_clear_4xx(recommender, payload, status, fragment):
    code, body = call(recommender, with_body(PREDICT, payload))
    assert_refused(code, body, status, fragment)


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        ({"name": "user_id", "shape": [2], "datatype": "INT64", "data": [1, fm.NUM_USERS]}, 400,
         f"unknown user id(s) {fm.NUM_USERS}; user ids are whole numbers 0..49"),
        ({"name": "user_id", "shape": [1], "datatype": "INT64", "data": [-1]}, 400, "unknown user id(s) -1"),
        ({"name": "user_id", "shape": [1], "datatype": "INT64", "data": [1.5]}, 400, "must be whole numbers"),
        ({"name": "user_id", "shape": [1], "datatype": "INT64", "data": [2 ** 63]}, 400, "out of range for INT64"),
        ({"name": "user_id", "shape": [1], "datatype": "INT32", "data": [1]}, 400, "datatype INT64"),
        ({"name": "user_id", "shape": [1, 1], "datatype": "INT64", "data": [[1]]}, 400, "shape [-1]"),
        ({"name": "user_id", "shape": [65], "datatype": "INT64", "data": [1] * 65}, 422, "maximum of 64"),
    ],
)
def test_bad_v2_requests_get_a_clear_4xx_before_onnxruntime(recommender, tensor, status, fragment):
    code, body = call(recommender, with_body(INFER, {"inputs": [tensor]}))
    assert_refused(code, body, status, fragment)
    assert "onnxruntime" not in body["error"].lower() and "gather" not in body["error"].lower()


def test_a_whole_number_written_as_a_float_is_a_valid_user_id_on_both_routes(recommender):
    # The V2 codec accepts 7.0 for INT64 (JSON has one number type); the id is still range-checked.
    tensor = {"name": "user_id", "shape": [1], "datatype": "INT64", "data": [7.0]}
    code, body = call(recommender, with_body(INFER, {"inputs": [tensor]}))
    assert code == 200
    np.testing.assert_allclose(body["outputs"][0]["data"], scores_for([7])[0], rtol=1e-6)
    code, body = call(recommender, with_body(PREDICT, {"user_id": 7.0, "k": 3.0}))
    assert code == 200 and body["recommendations"][0]["user_id"] == 7
    assert [i["item_id"] for i in body["recommendations"][0]["items"]] == ranked(scores_for([7])[0], 3)
