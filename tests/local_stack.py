"""A real local stack as pytest fixtures: a moto server process, S3 -> SQS -> deployer -> alias,
and the HTTP API on loopback, serving small real ONNX models of every family.

Import the fixtures into a test module or conftest (`from local_stack import ...`); one stack
is started per module.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eventfiles import ROOT
from lepton.local.local_aws import port_open
from lepton.local.stack import LocalStack, StackSettings, boot
from stack_models import write_all


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def aws_environment() -> Iterator[None]:
    """Here the stack owns the process environment (its endpoint and credentials), as in `make up`."""
    yield


@pytest.fixture(scope="module")
def moto_server() -> Iterator[int]:
    """moto in its own process: its state is global per process, and other tests use mock_aws."""
    with moto_process() as port:
        yield port


@contextmanager
def moto_process() -> Iterator[int]:
    """A moto server process on a free port for the block; yields the port."""
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


@contextmanager
def serving(stack: LocalStack) -> Iterator[str]:
    """The stack's API on its port, in a thread, for the block; yields its base URL."""
    server = stack.api_server(stack.gateway())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{stack.settings.api_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def stack_models() -> Callable[[Path], dict[str, bytes]]:
    """Writes what the stack publishes at start into artifacts/<family>/; returns model bytes by
    family. A module overrides it to serve other (e.g. trained) models."""
    return write_all


@pytest.fixture(scope="module")
def stack(tmp_path_factory, moto_server, stack_models) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("stack")
    models = stack_models(state / "artifacts")
    settings = StackSettings(root=ROOT, api_port=free_port(), aws_port=moto_server, state_dir=state,
                             train_missing=False, external_aws=True)
    stack = boot(settings)  # what `make up` runs, on a moto server of this module's own
    try:
        with serving(stack) as base_url:
            stack.base_url = base_url
            stack.models = models  # model bytes by family, as first published
            stack.tabular = {"1": models["tabular"]}  # tabular model bytes by version, for tests that add some
            yield stack
    finally:
        stack.stop()
