"""Fixtures every test group shares: fake AWS credentials, a clean client cache, and no network.

Every AWS call in a test goes to moto. The credentials below are fake, and a guard refuses any
connection that leaves the machine, so a test that forgot its moto fixture fails at once
instead of calling real AWS.
"""
from __future__ import annotations

import ipaddress
import socket

import pytest

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


class NetworkBlocked(OSError):
    """A test tried to reach a host that is not this machine."""


def _loopback_only(address: object) -> None:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like stay on the machine
        return
    host = str(address[0])
    try:
        local = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        raise NetworkBlocked(f"tests may not leave the machine: connection to {address} refused "
                             "(is a moto fixture missing?)")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _loopback_only(address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _loopback_only(address)
    return _connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Lepton",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(key, raising=False)
    from lepton_serving import clients

    clients.reset()
    yield
    clients.reset()


@pytest.fixture(scope="session")
def text_models(tmp_path_factory: pytest.TempPathFactory):
    """The text models users bring (tests/text_models.py), built once per session: a skl2onnx TF-IDF
    pipeline, a WordPiece tokenizer.json and a Keras attention model over it."""
    from bench.text_models import build_text_models

    return build_text_models(tmp_path_factory.mktemp("text-models"))
