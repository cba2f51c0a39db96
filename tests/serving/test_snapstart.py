"""SnapStart's runtime hooks, run as Lambda's runtime runs them: the `snapshot_restore_py` registries
read back, before-snapshot hooks in reverse order of registration, after-restore hooks in order."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
import snapshot_restore_py

from eventfiles import load_event
from lepton.local.context import LambdaContext
from lepton_serving import clients, serve


@pytest.fixture
def registries(monkeypatch):
    """Empty hook registries for one test (the library keeps them in module globals)."""
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])


def snapshot() -> None:
    for func, args, kwargs in reversed(snapshot_restore_py.get_before_snapshot()):
        func(*args, **kwargs)


def restore() -> None:
    for func, args, kwargs in snapshot_restore_py.get_after_restore():
        func(*args, **kwargs)


def serve_tabular(monkeypatch, env: dict[str, str], initialization: str):
    """The tabular handler as Lambda's init phase creates it, under this initialization type."""
    from tabular.model import TabularModel

    for key, value in {**env, "AWS_LAMBDA_INITIALIZATION_TYPE": initialization}.items():
        monkeypatch.setenv(key, value)
    return serve(TabularModel)


def test_an_on_demand_init_registers_no_hooks(registries, monkeypatch, publish, tmp_path):
    published = publish(seed=1)
    serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "on-demand")
    assert snapshot_restore_py.get_before_snapshot() == [] and snapshot_restore_py.get_after_restore() == []


def test_before_the_snapshot_the_model_is_loaded_and_answers_one_golden_request(registries, monkeypatch, publish,
                                                                                 tmp_path):
    # GIVEN a SnapStart init of a function whose version has golden examples
    published = publish(seed=1)
    handler = serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "snap-start")
    assert not handler.plane.model.ready  # not in Lambda's runtime: nothing loaded at init
    runs = []
    predict = handler.plane.model.predict
    monkeypatch.setattr(handler.plane.model, "predict", lambda feed: runs.append(feed) or predict(feed))
    # WHEN the runtime takes the snapshot
    snapshot()
    # THEN the session is in it, having run the first golden input once
    assert handler.plane.model.ready and len(runs) == 1
    golden = published.manifest.golden[0].inputs["features"]
    np.testing.assert_array_equal(runs[0]["features"], np.asarray(golden, dtype=np.float32))
    # AND the warm-up left no metric behind for the first real request to flush
    assert handler.telemetry.metrics.metric_set == {}


def test_two_restores_of_one_snapshot_draw_different_random_numbers(registries, monkeypatch, publish, tmp_path):
    published = publish(seed=1)
    handler = serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "snap-start")
    snapshot()
    # GIVEN the random state the snapshot froze (seeded, so both restores start from the very same state)
    random.seed(7)
    np.random.seed(7)
    frozen = random.getstate(), np.random.get_state()

    def draw_after(restored: bool) -> tuple[float, list[float]]:
        random.setstate(frozen[0])
        np.random.set_state(frozen[1])
        if restored:
            restore()
        return random.random(), np.random.standard_normal(3).tolist()

    # WHEN two environments are restored from it
    first, second = draw_after(restored=True), draw_after(restored=True)
    # THEN they draw different numbers (without the hook they would draw the same)
    assert first[0] != second[0] and first[1] != second[1]
    assert draw_after(restored=False) == draw_after(restored=False)
    assert handler.plane.model.ready


def test_a_restore_drops_cached_aws_clients(registries, monkeypatch, publish, tmp_path):
    published = publish(seed=1)
    serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "snap-start")
    # GIVEN a client created during init (its credentials and connections are in the snapshot)
    before = clients.client("s3")
    assert clients.client("s3") is before
    # WHEN the environment is restored
    restore()
    # THEN the next use creates a fresh client
    assert clients.client("s3") is not before


def test_a_load_that_failed_before_the_snapshot_is_retried_by_the_first_request_after_restore(
        registries, monkeypatch, publish, s3, tmp_path):
    # GIVEN the model was not in the bucket while the snapshot was taken (the load failed, backing off)
    published = publish(seed=2)
    s3.delete_object(Bucket="lepton-models-test", Key=published.manifest.model_key)
    handler = serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "snap-start")
    snapshot()
    assert not handler.plane.model.ready
    # WHEN the object is back and an environment is restored
    s3.put_object(Bucket="lepton-models-test", Key=published.manifest.model_key, Body=published.model_bytes)
    restore()
    # THEN its first request loads the model at once, not after the backoff the snapshot froze
    answer = handler(load_event("tabular/infer.json"), LambdaContext("tabular"))
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["model_version"] == "1"


def test_a_public_signature_the_golden_example_does_not_cover_warms_the_session_on_the_graphs_inputs(
        registries, monkeypatch, publish, tmp_path):
    from lepton_serving.manifest import TensorSpec
    from tabular.model import TabularModel

    # GIVEN a function whose public input (text, like sentiment's) is not in its golden example
    monkeypatch.setattr(TabularModel, "inputs", property(lambda self: [TensorSpec("text", "BYTES", [-1])]))
    published = publish(seed=1)
    handler = serve_tabular(monkeypatch, published.env(LEPTON_CACHE_DIR=str(tmp_path)), "snap-start")
    runs = []
    predict = handler.plane.model.predict
    monkeypatch.setattr(handler.plane.model, "predict", lambda feed: runs.append(feed) or predict(feed))
    # WHEN the runtime takes the snapshot
    snapshot()
    # THEN the session still ran once, on the graph's own golden input
    assert [sorted(feed) for feed in runs] == [["features"]]
    assert runs[0]["features"].dtype == np.float32
