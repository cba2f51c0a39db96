"""Shared fixtures: quick-trained artifacts (each family trained once per session) and moto."""
from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from lepton_training.tf_env import quiet_environment

quiet_environment()

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
BUCKET = "lepton-models-test"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so nothing can reach a real account; moto intercepts every call."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    for key, value in FAKE_AWS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def quick_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """family -> artifact dir of a --quick run; each family is trained at most once per session."""
    from lepton_training import train_family
    from lepton_training.families import get_family

    root = tmp_path_factory.mktemp("artifacts")
    cache: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in cache:
            for needed in get_family(family).requires.values():  # e.g. digits judges the generator:
                get(needed)  # trained here first, so the run reuses it and the cache stays true
            cache[family] = train_family(family, root, quick=True)
        return cache[family]

    return get


@pytest.fixture
def artifact_copy(quick_artifacts: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """A private copy of a quick artifact dir that a test may modify."""

    def get(family: str) -> Path:
        dest = tmp_path / family
        shutil.copytree(quick_artifacts(family), dest)
        return dest

    return get


@pytest.fixture(scope="session")
def sagemaker_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SM_MODEL_DIR after running the real SageMaker entry point (tabular, quick) with string hyperparameters."""
    import json

    from lepton_training import sagemaker_entry

    base = tmp_path_factory.mktemp("sagemaker")
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(
        {"family": "\"tabular\"", "quick": "true", "epochs": "2", "learning_rate": "0.02", "sagemaker_region": "\"us-east-1\""}
    ))
    env = {
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_MODEL_DIR": str(base / "model"),
        "SM_OUTPUT_DIR": str(base / "output"),
        "SM_HOSTS": json.dumps(["algo-1"]),
        "SM_CURRENT_HOST": "algo-1",
    }
    with mock.patch.dict(os.environ, env):
        code = sagemaker_entry.main([])
    assert code == 0, (base / "output" / "failure").read_text() if (base / "output" / "failure").exists() else code
    return base / "model"


@pytest.fixture(scope="session")
def model_tarball(sagemaker_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model.tar.gz as SageMaker packs SM_MODEL_DIR (files at the archive root)."""
    path = tmp_path_factory.mktemp("tar") / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for item in sorted(sagemaker_model_dir.iterdir()):
            tar.add(item, arcname=item.name)
    return path


@pytest.fixture
def bucket() -> str:
    return BUCKET


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="session")
def quick_fit() -> Callable[[str], dict[str, Any]]:
    """family -> a quick in-memory fit (Keras model + data) for export/quantisation tests."""
    from lepton_training.distribute import make_strategy
    from lepton_training.families import get_family
    from lepton_training.hyperparams import resolve

    cache: dict[str, dict[str, Any]] = {}

    def get(name: str) -> dict[str, Any]:
        if name not in cache:
            family = get_family(name)
            hp = resolve(family.defaults, family.quick, True, {"epochs": 3})
            data = family.load(hp)
            trained = family.fit(hp, family.train_part(data), make_strategy())
            cache[name] = {"family": family, "hp": hp, "data": data, "trained": trained}
        return cache[name]

    return get


@pytest.fixture(scope="session")
def tabular_fit(quick_fit: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return quick_fit("tabular")
