"""Batch scoring by direct invocation: every row judged as the online routes judge that one row."""
from __future__ import annotations

import csv
import io
import json
import random

import pytest

from lepton.local.context import LambdaContext
from lepton_serving.batch import BatchFailed

FEATURES = ["worst radius", "worst smoothness", "worst texture"]


def batch_event(rows: list, fmt: str = "jsonl", start: int = 0) -> dict:
    return {"lepton_batch": {"format": fmt, "items": [{"index": start + i, "row": r} for i, r in enumerate(rows)]}}


def score(handler, rows: list, fmt: str = "jsonl", start: int = 0) -> tuple[dict, list[dict]]:
    result = handler(batch_event(rows, fmt, start), LambdaContext("tabular", function_version="7"))
    return result, [json.loads(line) for line in result["body"].splitlines()]


def online(handler, path: str, body: dict) -> tuple[int, dict]:
    event = {"version": "2.0", "rawPath": path, "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": "POST"}}, "body": json.dumps(body), "isBase64Encoded": False}
    response = handler(event, LambdaContext("tabular"))
    return response["statusCode"], json.loads(response["body"])


def v2_one(handler, row: dict) -> tuple[int, dict]:
    """The V2 request a client sends for this one row: its values, the shape they have."""
    values = row["features"]
    return online(handler, "/v2/models/tabular/infer",
                  {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, len(values)], "data": [values]}]})


def random_rows(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [{"features": [rng.uniform(-3, 3), rng.uniform(-3, 3), rng.uniform(-3, 3)]} for _ in range(n)]


def test_every_row_answer_equals_the_online_answer_for_that_row(tabular):
    # GIVEN 50 rows in V2 form (each input's name -> that row's values)
    rows = random_rows(50)
    # WHEN they are scored as one batch
    result, lines = score(tabular, rows)
    # THEN each row's outputs are exactly what a one-row V2 request answers
    assert result["rows"] == 50 and result["errors"] == 0
    for row, line in zip(rows, lines):
        status, answer = v2_one(tabular, row)
        assert status == 200 and line["outputs"] == answer["outputs"]


def test_each_line_carries_its_line_number_id_model_and_function_version(tabular):
    rows = random_rows(3)
    rows[1]["id"] = "txn-42"
    result, lines = score(tabular, rows, start=10)
    assert [line["line"] for line in lines] == [11, 12, 13]  # 1-based line numbers in the object
    assert lines[1]["id"] == "txn-42" and "id" not in lines[0]
    assert {(line["model"], line["model_version"], line["function_version"]) for line in lines} == {("tabular", "1", "7")}
    assert result["part"] == "part-000000000011.jsonl"


def test_a_bad_row_gets_the_status_and_message_the_api_gives_it_and_never_fails_the_batch(tabular):
    # GIVEN a batch with a short row, a row holding text and a row that is not an object
    rows = random_rows(6)
    rows[1] = {"features": [1.0, 2.0]}
    rows[3] = {"features": [1.0, "seven", 3.0]}
    rows[4] = ["not", "an", "object"]
    # WHEN it is scored
    result, lines = score(tabular, rows)
    # THEN every row has an answer line, the bad ones their errors, the good ones their outputs
    assert result["rows"] == 6 and result["errors"] == 3
    for index in (1, 3):
        status, answer = v2_one(tabular, rows[index])
        assert lines[index]["error"] == {"status": status, "message": answer["error"]} and 400 <= status < 500
    assert lines[4]["error"]["status"] == 400 and "JSON object" in lines[4]["error"]["message"]
    for index in (0, 2, 5):
        assert lines[index]["outputs"] == v2_one(tabular, rows[index])[1]["outputs"]


def test_friendly_form_rows_get_the_friendly_routes_answer(tabular):
    # GIVEN a row that is the friendly route's body for one instance, and one it refuses
    rows = [{"instances": [[0.5, -1.0, 0.2]]}, {"instances": "no"}]
    result, lines = score(tabular, rows)
    good_status, good = online(tabular, "/models/tabular/predict", rows[0])
    bad_status, bad = online(tabular, "/models/tabular/predict", rows[1])
    assert good_status == 200 and lines[0]["prediction"] == {"predictions": good["predictions"]}
    assert lines[1]["error"] == {"status": bad_status, "message": bad["error"]} and bad_status == 400


def test_csv_rows_are_read_by_the_manifests_feature_names(tabular):
    # GIVEN a CSV object with the feature names as its header, as Step Functions' ItemReader reads it
    text = "id,worst radius,worst smoothness,worst texture\na,0.5,-1.0,0.2\nb,1.5,oops,-0.7\n"
    rows = list(csv.DictReader(io.StringIO(text)))
    result, lines = score(tabular, rows, fmt="csv")
    # THEN line numbers count the header, values are numbers, and a bad cell is that row's error
    assert [line["line"] for line in lines] == [2, 3] and [line["id"] for line in lines] == ["a", "b"]
    assert lines[0]["outputs"] == v2_one(tabular, {"features": [0.5, -1.0, 0.2]})[1]["outputs"]
    assert lines[1]["error"] == {"status": 400, "message": "column 'worst smoothness': 'oops' is not a number"}
    assert result["errors"] == 1


def test_csv_with_other_columns_is_each_rows_error_naming_the_expected_header(tabular):
    result, lines = score(tabular, [{"a": "1", "b": "2"}], fmt="csv")
    assert result["errors"] == 1 and ", ".join(FEATURES) in lines[0]["error"]["message"]


def test_more_rows_than_the_batch_limit_are_scored_in_requests_of_the_limit(tabular):
    # GIVEN three times the model's batch limit (64) in one event: each V2 request would be refused alone
    rows = random_rows(64 * 3 + 5, seed=3)
    result, lines = score(tabular, rows)
    assert result["rows"] == len(rows) and result["errors"] == 0
    sample = random.Random(4).sample(range(len(rows)), 10)
    assert all(lines[i]["outputs"] == v2_one(tabular, rows[i])[1]["outputs"] for i in sample)


def test_a_model_that_cannot_load_fails_the_batch_so_it_is_retried(publish, tmp_path):
    from tabular.handler import lambda_handler

    published = publish(seed=0, version=1)
    env = published.env(LEPTON_CACHE_DIR=str(tmp_path), LEPTON_MODEL_SHA256="0" * 64)  # a pin nothing matches
    with pytest.raises(BatchFailed, match="cannot load"):
        lambda_handler.with_environment(env)(batch_event(random_rows(2)), LambdaContext("tabular"))


@pytest.mark.parametrize("event", [{"lepton_batch": None}, {"lepton_batch": {"items": [{"row": {}}]}},
                                   {"lepton_batch": {"format": "parquet", "items": []}}])
def test_a_malformed_batch_event_fails_loudly(tabular, event):
    with pytest.raises(BatchFailed):
        tabular(event, LambdaContext("tabular"))
