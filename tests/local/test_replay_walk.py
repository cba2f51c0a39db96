"""The capture and replay loop as a user walks it on a fresh machine: `lepton up`, traffic sent
with curl, the captured requests in the local S3, a pushed version with its two outputs swapped
(and golden examples computed from it) refused by the replay gate with its agreement figure and
the file of disagreeing cases, then a retrain with another seed promoted.

Everything runs as the user runs it: `lepton up` and `lepton push` as processes, curl for the
traffic, the models trained by lepton_training (briefly: a small subset of the data, full epochs,
so two seeds learn nearly the same function, as two real retrains do).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import numpy as np
import pytest

from eventfiles import ROOT
from lepton.local.local_aws import LOCAL_CREDENTIALS, REGION, port_open
from lepton_deploy.captures import CaptureStore
from lepton_serving.manifest import Manifest
from local_stack import free_port
from onnx_models import swap_outputs
from trained_models import artifact_cache, trained

CAPTURES = "lepton-local-captures"


@pytest.fixture(scope="module")
def retrains(request, tmp_path_factory) -> dict[int, Path]:
    cache = artifact_cache(request, tmp_path_factory, "lepton-replay-models")
    return {seed: trained(cache / f"seed-{seed}", "tabular", quick=True, epochs=40, seed=seed) for seed in (42, 7)}


@pytest.fixture
def up(tmp_path, retrains):
    """`lepton up` serving tabular (trained with seed 42), on free ports, as a process of its own."""
    state = tmp_path / "state"
    shutil.copytree(retrains[42], state / "artifacts" / "tabular")
    port, aws_port = free_port(), free_port()
    process = subprocess.Popen([sys.executable, "-m", "lepton.cli", "up", "--port", str(port), "--aws-port",
                                str(aws_port), "--state-dir", str(state), "--no-train", "--models", "tabular"],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not port_open("127.0.0.1", port):
        assert process.poll() is None and time.monotonic() < deadline, "lepton up did not start"
        time.sleep(0.2)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=f"http://127.0.0.1:{aws_port}",
                      aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    try:
        yield f"http://127.0.0.1:{port}", s3
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def curl(url: str, rows: list[list[float]]) -> int:
    body = json.dumps({"inputs": [{"name": "features", "shape": [len(rows), 3], "datatype": "FP32", "data": rows}]})
    done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{url}/v2/models/tabular/infer",
                           "-H", "content-type: application/json", "-d", body], capture_output=True, text=True,
                          timeout=30)
    return int(done.stdout or 0)


def lepton(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lepton.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.timeout(600)
def test_make_up_curl_captures_then_a_swapped_version_is_refused_and_a_retrain_promoted(up, retrains, tmp_path):
    url, s3 = up
    # 1. traffic with curl: tumours a radiologist might measure (radius, smoothness, texture)
    rng = np.random.default_rng(2026)
    rows = np.stack([rng.uniform(10, 26, 80), rng.uniform(0.09, 0.18, 80), rng.uniform(15, 35, 80)], 1).round(3)
    while curl(url, rows[:1].tolist()) != 200:  # the deployer promotes version 1 before the port opens
        time.sleep(0.5)
    assert [curl(url, [row]) for row in rows.tolist()] == [200] * len(rows)

    # 2. the captured requests land in the local S3, under captures/tabular/YYYY/MM/DD/HH/
    store = CaptureStore(s3, CAPTURES)
    deadline = time.monotonic() + 60
    while len(records := store.latest("tabular", 1, 200)) < len(rows) + 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(records) == len(rows) + 1
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=CAPTURES, Prefix="captures/tabular/")["Contents"]]
    assert all(k.count("/") == 6 for k in keys), keys
    # each row as the model took it: the signature's FP32, whatever precision the JSON carried
    captured = {tuple(np.asarray(r.inputs[0].array()[0], dtype=np.float32).tolist()) for r in records}
    assert {tuple(row) for row in rows.astype(np.float32).tolist()} <= captured

    # 3. a version with its outputs swapped and self-consistent golden examples is refused by the replay
    live = retrains[42]
    swapped, manifest = swap_outputs((live / "model.onnx").read_bytes(),
                                     Manifest.from_json((live / "manifest.json").read_text()))
    (tmp_path / "swapped").mkdir()
    (tmp_path / "swapped" / "model.onnx").write_bytes(swapped)
    (tmp_path / "swapped" / "manifest.json").write_text(manifest.to_json())
    shutil.copy(live / "reference.json", tmp_path / "swapped")  # the profile its manifest pins, as training left it
    pushed = lepton("push", "tabular", str(tmp_path / "swapped"), "--endpoint", url)
    said = " ".join(pushed.stdout.split())
    assert pushed.returncode == 1, pushed.stdout + pushed.stderr
    assert "tabular v2: rejected — agreement 0.0" in said and f"on {len(rows) + 1} captured requests (min 0.90)" in said
    assert "(check: replay)" in said
    key = said.split(f"disagreeing cases in s3://{CAPTURES}/", 1)[1].split(" ", 1)[0]
    cases = json.loads(s3.get_object(Bucket=CAPTURES, Key=key)["Body"].read())
    assert cases["version"] == "2" and len(cases["cases"]) >= 0.9 * len(rows)
    first = cases["cases"][0]
    assert first["live"]["probabilities"] == pytest.approx(first["candidate"]["probabilities"][::-1], abs=1e-5)

    # 4. a retrain with another seed answers as the live version does, and is promoted
    pushed = lepton("push", "tabular", str(retrains[7]), "--endpoint", url)
    said = " ".join(pushed.stdout.split())
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "tabular v3: promoted" in said
    assert "replay: agreement 0.9" in said or "replay: agreement 1.00" in said
