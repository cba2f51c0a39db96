"""A real local stack for the tests in this folder: moto server, S3 -> SQS -> deployer -> alias,
and the HTTP API on loopback, serving small real ONNX models of all four families."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from eventfiles import ROOT
from lepton.stack import LocalStack, StackSettings, port_open
from onnx_models import manifest_for, mlp_model
from stack_models import write_all, write_artifact


@pytest.fixture(autouse=True)
def aws_environment():
    """Here the stack owns the process environment (its endpoint and credentials), as in `make up`."""
    yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_tabular(folder: Path, seed: int) -> bytes:
    data = mlp_model(seed).SerializeToString()
    write_artifact(folder, data, manifest_for(data, metrics={"accuracy": 0.9}))
    return data


@pytest.fixture(autouse=True)
def aws_environment():
    """Here the stack owns the process environment (its endpoint and credentials), as in `make up`."""
    yield


@pytest.fixture(scope="module")
def moto_server():
    """moto in its own process: its state is global per process, and other tests use mock_aws."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not port_open("127.0.0.1", port):
        assert server.poll() is None and time.monotonic() < deadline, "moto server did not start"
        time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server):
    state = tmp_path_factory.mktemp("stack")
    models = write_all(state / "artifacts")
    settings = StackSettings(root=ROOT, api_port=free_port(), aws_port=moto_server, state_dir=state,
                             train_missing=False, external_aws=True)
    stack = LocalStack(settings)
    try:
        stack.start_aws()
        stack.provision()
        stack.start_worker()
        live = stack.wait_for_deployments(stack.publish_models(stack.ensure_artifacts()))
        server = stack.api_server(stack.gateway())
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        stack.base_url = f"http://127.0.0.1:{settings.api_port}"
        stack.model_v1 = models["tabular"]
        stack.live_at_start = live
        yield stack
        server.should_exit = True
        thread.join(timeout=5)
    finally:
        stack.stop()


