"""A replay sends the live version's captured requests to a candidate through the candidate's real
handler, batched, within a deadline, and decides: passed, failed (naming the figure) or skipped."""
from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import numpy as np
import pytest
from moto import mock_aws

from lepton.local.context import LambdaContext
from lepton_deploy.captures import CaptureRecord
from lepton_deploy.replay import Replay, ReplaySettings
from lepton_serving import clients
from lepton_serving.manifest import Manifest
from onnx_models import manifest_for, mlp_model, nudged_mlp, swapped_mlp

BUCKET = "lepton-models-test"
ROWS = np.random.default_rng(11).normal(size=(200, 3)).round(3).astype(np.float32)


class Versions:
    """Tabular versions published to moto S3, each served by the handler Lambda imports."""

    def __init__(self, s3, cache):
        self.s3, self.cache = s3, cache

    def serve(self, model_bytes: bytes, version: int, **env: str):
        from tabular.handler import lambda_handler

        manifest = manifest_for(model_bytes, version=version)
        self.s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=model_bytes)
        self.s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
        handler = lambda_handler.with_environment({
            "LEPTON_MODEL_NAME": "tabular", "LEPTON_MODEL_BUCKET": BUCKET, "LEPTON_MODEL_KEY": manifest.model_key,
            "LEPTON_MODEL_SHA256": manifest.sha256, "LEPTON_MODEL_VERSION": str(version),
            "LEPTON_CACHE_DIR": str(self.cache), "LEPTON_CAPTURE_SAMPLE_RATE": "1", **env})
        handler.manifest, handler.lines = manifest, []
        return handler.with_capture_output(handler.lines.append)

    @staticmethod
    def traffic(handler, batches: list[np.ndarray]) -> list[CaptureRecord]:
        """Callers' requests to ``handler``, and the records it captured of them."""
        from eventfiles import load_event

        for rows in batches:
            event = load_event("tabular/infer.json")
            event["body"] = json.dumps({"inputs": [{"name": "features", "shape": list(rows.shape), "datatype": "FP32",
                                                    "data": rows.ravel().tolist()}]})
            assert handler(event, LambdaContext("tabular"))["statusCode"] == 200
        return [CaptureRecord.from_dict(json.loads(line)) for line in reversed(handler.lines)]  # newest first


@pytest.fixture
def versions(tmp_path) -> Iterator[Versions]:
    with mock_aws():
        clients.reset()
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield Versions(s3, tmp_path / "cache")
        clients.reset()


def invoker(handler, calls: list[int] | None = None, clock: list[float] | None = None, seconds: float = 0.0):
    """The candidate's handler called as Lambda's Invoke calls it; records each call's rows, and
    moves a clock on by ``seconds`` per call."""
    def invoke(function_name: str, qualifier: str, event: dict) -> dict:
        if calls is not None:
            calls.append(json.loads(event["body"])["inputs"][0]["shape"][0])
        if clock is not None:
            clock[0] += seconds
        return handler(event, LambdaContext(function_name, 1024, 15, qualifier))
    return invoke


def replay(candidate, records, settings=ReplaySettings(), calls=None, clock=None, seconds=0.0, deadline=1e9):
    now = clock if clock is not None else [0.0]
    run = Replay(invoker(candidate, calls, now, seconds), candidate.manifest, "lepton-test-tabular", "5", settings,
                 clock=lambda: now[0])
    return run.judge(records, live_version=1, deadline=deadline), run


def one_row_each(count: int = 200) -> list[np.ndarray]:
    return [ROWS[i:i + 1] for i in range(count)]


def test_a_candidate_with_swapped_outputs_is_refused_with_the_figure_and_its_cases(versions):
    # GIVEN 200 captured requests of the live version
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, one_row_each())
    # WHEN a version whose two outputs are swapped (its own golden examples agree with it) answers them
    candidate = versions.serve(swapped_mlp(1), 2)
    result, run = replay(candidate, records)
    # THEN it is refused, the reason naming the figure, and every disagreeing row is a case
    assert result.outcome == "failed"
    assert result.reason.startswith("agreement 0.00 on 200 captured requests (min 0.90)"), result.reason
    assert result.figures["requests"] == 200 and result.figures["task"] == "classifier"
    assert run.invocations == 4  # 200 one-row requests, 64 rows a call
    case = result.cases[0]
    assert case["request_id"] == records[0].id and case["inputs"]["features"] == pytest.approx(ROWS[199].tolist())
    assert case["live"]["probabilities"] == pytest.approx(case["candidate"]["probabilities"][::-1], abs=1e-6)
    assert len(result.cases) == 100  # the first 100 of 200


def test_a_candidate_that_answers_like_the_live_version_passes(versions):
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, [ROWS[i:i + 4] for i in range(0, 200, 4)])  # 50 requests of 4 rows
    result, _ = replay(versions.serve(nudged_mlp(1), 2), records)
    assert result.outcome == "passed", result.reason
    assert result.reason.startswith("agreement ") and "on 50 captured requests, 200 rows (min 0.90)" in result.reason
    assert len(result.cases) == round((1 - result.figures["agreement"]) * 200)


def test_too_few_captured_requests_are_skipped_with_the_reason(versions):
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, one_row_each(12))
    result, run = replay(versions.serve(swapped_mlp(1), 2), records)
    assert result.outcome == "skipped" and run.invocations == 0
    assert result.reason == ("12 captured request(s) of live version 1, fewer than the 30 needed to judge on; "
                             "not compared")


def test_a_lower_batch_limit_is_learnt_once_and_a_request_above_it_disagrees(versions):
    # GIVEN 60 one-row requests and one of 3 rows, and a candidate whose batch limit is 2
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, one_row_each(60) + [ROWS[100:103]])
    calls: list[int] = []
    result, _ = replay(versions.serve(mlp_model(1).SerializeToString(), 2, LEPTON_MAX_BATCH="2"), records,
                       calls=calls)
    # THEN the first call (63 rows) is refused and split in halves until calls fit: a limit learnt
    # in a few halvings, not one refusal per request
    assert calls[0] == 63
    assert sum(1 for c in calls if c > 3) <= 12 and len(calls) <= 50
    assert all(c <= 3 for c in calls[-25:])
    # AND the one request the candidate cannot take is its error, counted against it
    assert result.figures["errors"] == 1 and result.figures["rows"] == 63
    assert result.figures["agreement"] == pytest.approx(60 / 63, abs=1e-4)
    assert result.cases[0]["candidate"]["error"].startswith("422")


def test_a_replay_stops_at_its_deadline(versions):
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, one_row_each())
    candidate = versions.serve(mlp_model(1).SerializeToString(), 2)
    # GIVEN each call takes 10 s and 25 s remain: 3 calls start, 3 x 64 = 192 requests are answered
    result, run = replay(candidate, records, clock=[0.0], seconds=10.0, deadline=25.0)
    assert run.invocations == 3 and result.outcome == "passed"
    assert result.figures["requests"] == 192
    assert "8 more not answered within the 25 s budget" in result.reason
    # AND when only one call of 16 fits, fewer than the minimum (30) are answered: refused
    result, _ = replay(candidate, records, settings=ReplaySettings(batch_rows=16), clock=[0.0], seconds=10.0,
                       deadline=5.0)
    assert result.outcome == "failed"
    assert result.reason == ("replay ran out of time: 16 of 200 captured requests answered in 10.0 s, "
                             "fewer than the 30 needed")


def test_the_candidates_manifest_thresholds_apply(versions):
    live = versions.serve(mlp_model(1).SerializeToString(), 1)
    records = versions.traffic(live, one_row_each(100))
    candidate = versions.serve(nudged_mlp(1, scale=0.6), 2)
    lenient = replay(candidate, records)[0]
    candidate.manifest = Manifest.from_dict({**candidate.manifest.to_dict(), "replay": {"min_agreement": 1.0}})
    strict = replay(candidate, records)[0]
    assert strict.figures["min_agreement"] == 1.0 and strict.figures["agreement"] == lenient.figures["agreement"]
    assert strict.outcome == ("passed" if lenient.figures["agreement"] == 1.0 else "failed")


def test_texts_are_replayed_as_the_strings_callers_sent(versions):
    # GIVEN the sentiment function, which takes text (a BYTES tensor), capturing its callers' texts
    import family_models as fm
    from sentiment.handler import lambda_handler

    manifest, model = fm.sentiment_manifest(), fm.sentiment_model()
    versions.s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=model)
    versions.s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    lines: list[str] = []
    handler = lambda_handler.with_environment({
        "LEPTON_MODEL_NAME": "sentiment", "LEPTON_MODEL_BUCKET": BUCKET, "LEPTON_MODEL_KEY": manifest.model_key,
        "LEPTON_MODEL_SHA256": manifest.sha256, "LEPTON_MODEL_VERSION": str(manifest.version),
        "LEPTON_CACHE_DIR": str(versions.cache), "LEPTON_CAPTURE_SAMPLE_RATE": "1"}).with_capture_output(lines.append)
    from eventfiles import load_event

    texts = ["i loved the acting", "boring plot, awful", "not bad at all", "café was great fun"] * 10
    for i in range(len(texts)):
        event = load_event("sentiment/predict-batch.json")
        event["body"] = json.dumps({"texts": texts[i:i + 1]})
        assert handler(event, LambdaContext("sentiment"))["statusCode"] == 200
    records = [CaptureRecord.from_dict(json.loads(line)) for line in reversed(lines)]
    assert records[0].inputs[0].data == texts[-1:]  # the strings themselves, accents and all
    handler.manifest = manifest
    # WHEN the same version answers them again
    result, run = replay(handler, records)
    # THEN it agrees on every text, in one call of 40 texts
    assert result.outcome == "passed", result.reason
    assert (result.outcome, result.figures["agreement"], result.figures["rows"], run.invocations) == (
        "passed", 1.0, 40, 1)
