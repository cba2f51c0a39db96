"""Faults at a model function's cold start: S3 down gives a 503 with Retry-After, without a new
fetch on every request, and the function serves as soon as S3 answers again."""
from __future__ import annotations

import json

import boto3
from botocore.config import Config

from eventfiles import load_event
from lepton.local.context import LambdaContext
from lepton_serving.app import Handler


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_s3_down_at_cold_start_is_a_503_with_retry_after_and_the_function_recovers(publish, s3, bucket, tmp_path):
    from tabular.model import TabularModel

    published = publish(seed=3)
    # GIVEN S3 does not answer (nothing listens where the client connects) ...
    dead = boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    reachable = {"s3": dead}
    asked: list[str] = []

    def aws(service: str):
        asked.append(service)
        return reachable[service]

    handler = Handler(TabularModel, published.env(LEPTON_CACHE_DIR=str(tmp_path / "cache")), aws=aws)
    clock = Clock()
    handler.plane.clock = clock
    event = load_event("tabular/infer.json")

    def call() -> dict:
        return handler(event, LambdaContext("tabular"))

    # WHEN a request arrives
    first = call()
    # THEN it gets a 503 that says why and when to come back
    assert first["statusCode"] == 503
    assert "cannot read s3://<bucket>/" in json.loads(first["body"])["error"]
    assert bucket not in first["body"]  # every caller may read this answer: no resource names
    assert first["headers"]["Retry-After"] == "1"
    # AND a request inside the backoff gets the same answer without another fetch
    clock.now += 0.5
    second = call()
    assert second["statusCode"] == 503 and second["headers"]["Retry-After"] == "1"
    assert asked == ["s3"]
    # WHEN S3 is back and the backoff has passed
    reachable["s3"] = s3
    clock.now += 1.0
    third = call()
    # THEN the function loads the model and answers
    assert third["statusCode"] == 200, third["body"]
    assert json.loads(third["body"])["model_version"] == "1"


def test_failed_loads_back_off_twice_as_long_each_time_up_to_30_seconds(publish, tmp_path):
    from tabular.model import TabularModel

    dead = boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    handler = Handler(TabularModel, publish(seed=3).env(LEPTON_CACHE_DIR=str(tmp_path)), aws=lambda s: dead)
    clock = Clock()
    handler.plane.clock = clock
    waits = []
    for _ in range(7):
        answer = handler(load_event("tabular/infer.json"), LambdaContext("tabular"))
        waits.append(answer["headers"]["Retry-After"])
        clock.now += float(answer["headers"]["Retry-After"])
    assert waits == ["1", "2", "4", "8", "16", "30", "30"]


def test_a_503_for_a_deployments_table_that_does_not_answer_names_neither_table_nor_account(s3, bucket, tmp_path):
    from tabular.model import TabularModel

    # GIVEN no version pinned, so the function asks the deployments table, which does not exist
    table = "lepton-deployments-123456789012-prod"
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    env = {"LEPTON_MODEL_NAME": "tabular", "LEPTON_MODEL_BUCKET": bucket, "LEPTON_DEPLOYMENTS_TABLE": table,
           "LEPTON_CACHE_DIR": str(tmp_path), "AWS_LAMBDA_FUNCTION_NAME": "stack-TabularFunction-AbC"}
    handler = Handler(TabularModel, env, aws=lambda service: {"dynamodb": dynamodb, "s3": s3}[service])
    # WHEN a caller asks
    answer = handler(load_event("tabular/infer.json"), LambdaContext("tabular"))
    # THEN the 503 says what is wrong without the table's, bucket's or function's name or the account
    assert answer["statusCode"] == 503
    error = json.loads(answer["body"])["error"]
    assert "cannot read which version of 'tabular' is live" in error and "<table>" in error, error
    for secret in (table, "123456789012", bucket, "stack-TabularFunction-AbC"):
        assert secret not in answer["body"]
