"""One moto account per test with the redeploy path built from template.yaml.

The model function is created as `sam deploy` creates it (the template's environment, a
published version 1, the `live` alias on it); the deployer's environment is the template's,
with the names provision() created.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import DeployStack, provisioned


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DeployStack]:
    with provisioned(monkeypatch, tmp_path) as made:
        yield made


@pytest.fixture
def measured_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DeployStack]:
    """The same, with each version's cold start measured in a fresh process, as the local stack
    measures it (init, memory): for the tests that read receipts."""
    with provisioned(monkeypatch, tmp_path, fresh_processes=True) as made:
        yield made
