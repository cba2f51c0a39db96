from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from lepton_serving.manifest import Manifest
from onnx_models import manifest_for, mlp_model

BUCKET = "lepton-models-test"


@dataclass
class Published:
    manifest: Manifest
    model_bytes: bytes

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "LEPTON_MODEL_NAME": self.manifest.name,
            "LEPTON_MODEL_BUCKET": BUCKET,
            "LEPTON_MODEL_KEY": self.manifest.model_key,
            "LEPTON_MODEL_SHA256": self.manifest.sha256,
            "LEPTON_MODEL_VERSION": str(self.manifest.version),
            **extra,
        }


@pytest.fixture
def bucket() -> str:
    return BUCKET


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def publish(s3) -> Callable[..., Published]:
    """Put a real model version into moto S3 the way training publishes it (manifest last)."""

    def _publish(seed: int = 0, version: int = 1, name: str = "tabular", model_bytes: bytes | None = None,
                 **fields) -> Published:
        data = model_bytes if model_bytes is not None else mlp_model(seed).SerializeToString()
        manifest = manifest_for(data, name=name, version=version, **fields)
        s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=data)
        s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
        return Published(manifest, data)

    return _publish


@pytest.fixture
def tabular(publish, tmp_path):
    """The tabular function's handler, configured for a published version, as Lambda imports it."""
    from tabular.handler import lambda_handler

    published = publish(seed=0, version=1)
    handler = lambda_handler.with_environment(published.env(LEPTON_CACHE_DIR=str(tmp_path / "cache")))
    handler.published = published
    return handler
