"""The round price list as a fixture (see cost_inputs.py for the numbers)."""
from __future__ import annotations

import pytest
from cost_inputs import ROUND_PRICES

from lepton.cost import prices


@pytest.fixture
def round_prices() -> prices.Prices:
    return prices.parse({"region": "us-east-1", "prices": ROUND_PRICES})


@pytest.fixture(autouse=True)
def no_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lepton cost` prices a reachable stack's receipts first: here no stack answers by default
    (a port nothing listens on), so a `make up` on this machine never changes a test's answer."""
    import socket

    from lepton import client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(client, "LOCAL_URL", f"http://127.0.0.1:{port}")
