"""Drift on the local stack, as a user meets it: trained models live, requests sent over real HTTP,
captured by the stack's own capture path, and `lepton drift` asked what moved.

The stack serves tabular and digits models trained here (full data, short settings: their
reference profiles are of the whole training split) and captures every request
(CaptureSampleRate=1). Each case sends its own rows and asks about the window since it began:

- rows drawn from the held-out split: no feature drifts;
- the same rows with one feature scaled by 3: that feature, and only that one, is over the alarm;
- held-out digits drawn inverted (white on black: background 16, ink 0): the image features alarm.

Then the drift function, run the way its schedule runs it, sends the Drift metric to the local
CloudWatch and records the check that GET /status (the playground's badge) shows.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

from local_stack import free_port, serving
from lepton.cli import main as lepton
from lepton.local.stack import boot
from lepton.local.stack_settings import StackSettings
from cli_json import document_with
from stack_models import write_all
from trained_models import artifact_cache, trained

pytestmark = pytest.mark.slow  # trains two models on a fresh clone (cached afterwards)

SCALED = "worst texture"


@pytest.fixture(scope="module")
def trained_models(request, tmp_path_factory) -> Path:
    out = artifact_cache(request, tmp_path_factory, "lepton-stack-models")
    trained(out, "digits", quick=False, epochs=6, folds=2, verbose=0)  # the generator stack test's digits
    trained(out, "tabular", quick=False, epochs=15, folds=2, verbose=0)
    return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server, trained_models):
    state = tmp_path_factory.mktemp("drift-stack")
    write_all(state / "artifacts")  # the small graphs for every other family
    for family in ("tabular", "digits"):
        shutil.rmtree(state / "artifacts" / family)
        shutil.copytree(trained_models / family, state / "artifacts" / family)
    settings = StackSettings(root=Path(__file__).resolve().parents[2], api_port=free_port(), aws_port=moto_server,
                             state_dir=state, train_missing=False, external_aws=True,
                             overrides={"CaptureSampleRate": "1"})
    stack = boot(settings, api=True)
    try:
        with serving(stack) as base_url:
            stack.base_url = base_url
            yield stack
    finally:
        stack.stop()


def held_out(family: str) -> np.ndarray:
    from lepton_training.data import digits, tabular

    return (tabular if family == "tabular" else digits).load(seed=42, test_size=0.2).x_test.astype(np.float64)


def send(stack, model: str, rows: np.ndarray, per_request: int) -> datetime:
    """Every row to the friendly route, ``per_request`` at a time; returns when sending began."""
    began = datetime.now(UTC) - timedelta(milliseconds=1)
    for start in range(0, len(rows), per_request):
        response = requests.post(f"{stack.base_url}/models/{model}/predict",
                                 json={"instances": rows[start:start + per_request].tolist()}, timeout=30)
        assert response.status_code == 200, response.text
    return began


def drift(stack, capsys, model: str, since: datetime, rows: int) -> dict:
    """`lepton drift <model> --json` over the window since ``since``, once its rows are captured."""
    deadline = time.monotonic() + 30
    while True:
        capsys.readouterr()
        code = lepton(["drift", model, "--json", "--since", since.isoformat(), "--aws-port", str(stack.settings.aws_port)])
        report = document_with(capsys.readouterr().out, "window")
        if code == 0 and report["window"]["rows"] >= rows or time.monotonic() > deadline:
            assert code == 0
            return report
        time.sleep(0.5)  # records reach the capture bucket through the log group and Firehose


def psi(report: dict) -> dict[str, float | None]:
    return {f["name"]: f["psi"] for f in report["features"]}


def test_rows_drawn_from_the_held_out_data_are_no_drift(stack, capsys):
    rows = np.tile(held_out("tabular"), (3, 1))  # the 114 held-out rows, each three times
    since = send(stack, "tabular", rows, per_request=38)
    report = drift(stack, capsys, "tabular", since, len(rows))
    print(json.dumps({"no drift": psi(report)}))
    assert report["window"]["rows"] == len(rows) and report["reference"]["source"] == "training"
    assert report["level"] == "ok" and report["message"] == "no drift", report["message"]
    assert all(f["level"] == "ok" for f in report["features"]), [(f["name"], f["psi"]) for f in report["features"]]


def test_one_feature_scaled_by_three_is_the_only_input_over_the_alarm(stack, capsys):
    rows = np.tile(held_out("tabular"), (3, 1))
    rows[:, ["worst radius", "worst smoothness", "worst texture"].index(SCALED)] *= 3
    since = send(stack, "tabular", rows, per_request=38)
    report = drift(stack, capsys, "tabular", since, len(rows))
    print(json.dumps({f"{SCALED} x3": psi(report)}))
    over = {f["name"] for f in report["features"] if f["role"] == "input" and f["level"] == "alarm"}
    assert over == {SCALED}
    assert report["level"] == "alarm" and report["message"].startswith(f"drift: {SCALED} (PSI ")


def test_digits_drawn_inverted_are_flagged_as_image_drift(stack, capsys):
    images = 16.0 - held_out("digits")  # white on black: the background at full ink, the strokes blank
    since = send(stack, "digits", images, per_request=32)
    report = drift(stack, capsys, "digits", since, len(images))
    print(json.dumps({"inverted digits": psi(report)}))
    levels = {f["name"]: f["level"] for f in report["features"]}
    assert levels["ink"] == levels["intensity"] == "alarm"
    assert report["level"] == "alarm"


def test_the_scheduled_drift_function_sends_the_metric_and_the_badge_shows_its_check(stack, capsys):
    from lepton.local.schedules import scheduled_event

    # GIVEN inverted digits were captured
    images = 16.0 - held_out("digits")
    drift(stack, capsys, "digits", send(stack, "digits", images, per_request=32), len(images))
    # WHEN the drift function runs as its EventBridge schedule runs it
    result = stack.invoke("DriftFunction", scheduled_event("DriftFunction-Schedule", datetime.now(UTC)))
    levels = {c["model"]: c["level"] for c in result["checked"]}
    # THEN the models were checked over the last 24 hours ...
    assert levels["digits"] == "alarm" and levels["generator"] in ("not_enough_data", "no_reference")
    # ... the Drift metric reached CloudWatch per model and feature ...
    cloudwatch = stack.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="Lepton", MetricName="Drift")["Metrics"]
    dimensions = {tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed}
    assert (("feature", "ink"), ("model", "digits")) in dimensions and () in dimensions
    # ... and the open status the playground reads carries each model's check
    status = requests.get(f"{stack.base_url}/status", timeout=30).json()
    badges = {m["name"]: m["drift"] for m in status["models"]}
    assert badges["digits"]["level"] == "alarm" and badges["digits"]["reference"] == "training"
    assert badges["digits"]["worst_feature"] in ("ink", "intensity", "centroid_row", "centroid_column", "prediction")
