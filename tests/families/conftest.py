"""Fixtures for the model-family functions: real ONNX models published into moto S3.

Each handler fixture is the function's `lambda_handler`, imported exactly as Lambda imports it,
configured (with_environment) for a version published the way training publishes it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

import family_models as fm
from lepton_serving.manifest import Manifest

BUCKET = "lepton-models-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    # One moto S3 per test module: a handler loads its model on the first request and keeps it,
    # as a warm Lambda environment does, so later tests never touch S3 again.
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="module")
def serve_version(s3, tmp_path_factory) -> Callable[..., object]:
    """Publish model bytes + manifest (manifest last) and return the family's configured handler."""

    def _serve(handler, manifest: Manifest, model_bytes: bytes, **env: str):
        s3.put_object(Bucket=BUCKET, Key=manifest.model_key, Body=model_bytes)
        s3.put_object(Bucket=BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
        configured = handler.with_environment({
            "LEPTON_MODEL_NAME": manifest.name,
            "LEPTON_MODEL_BUCKET": BUCKET,
            "LEPTON_MODEL_KEY": manifest.model_key,
            "LEPTON_MODEL_SHA256": manifest.sha256,
            "LEPTON_MODEL_VERSION": str(manifest.version),
            "LEPTON_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
            **env,
        })
        configured.manifest, configured.model_bytes = manifest, model_bytes
        return configured

    return _serve


@pytest.fixture(scope="module")
def digits(serve_version):
    from digits.handler import lambda_handler

    return serve_version(lambda_handler, fm.digits_manifest(), fm.digits_model())


@pytest.fixture(scope="module")
def sentiment(serve_version):
    from sentiment.handler import lambda_handler

    return serve_version(lambda_handler, fm.sentiment_manifest(), fm.sentiment_model())


@pytest.fixture(scope="module")
def recommender(serve_version):
    from recommender.handler import lambda_handler

    return serve_version(lambda_handler, fm.recommender_manifest(), fm.recommender_model())


@pytest.fixture(scope="module")
def generator(serve_version):
    from generator.handler import lambda_handler

    return serve_version(lambda_handler, fm.generator_manifest(), fm.generator_model())


@pytest.fixture(scope="module")
def churn(serve_version):
    """A model added with `lepton add`: the library's generic Model, as its scaffolded handler serves it."""
    from lepton_serving.app import configured
    from lepton_serving.model import Model

    # with no environment yet it refuses every request (no model name); serve_version configures it
    return serve_version(configured(Model, {}), fm.churn_manifest(), fm.churn_model())


@pytest.fixture(scope="module")
def tabular(serve_version):
    from onnx_models import manifest_for, mlp_model

    from tabular.handler import lambda_handler

    data = mlp_model(0).SerializeToString()
    return serve_version(lambda_handler, manifest_for(data, "tabular", 1), data)
