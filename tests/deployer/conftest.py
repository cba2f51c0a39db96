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
