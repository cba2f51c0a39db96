"""A copy of the project for each test to add models to, so the checkout's template.yaml and
functions/ are never touched: template.yaml and functions/ copied, layers/ linked."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from project_copy import copy_project
from lepton.byom.cli import add_model
from lepton.local.function_host import FunctionHost
from lepton.local.http_events import http_event
from lepton.local.template import Template

BUCKET = "lepton-models"


@pytest.fixture
def project(tmp_path) -> Iterator[Path]:
    """The copy; the function packages a test imported from it are forgotten after it, as a new
    process would (each copy's functions/<name>/ goes on sys.path when its handler runs)."""
    path, modules = list(sys.path), set(sys.modules)
    yield copy_project(tmp_path / "project")
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if getattr(sys.modules[name], "__file__", None) and str(tmp_path) in str(sys.modules[name].__file__):
            del sys.modules[name]


@pytest.fixture
def model_file(tmp_path) -> Callable[[bytes, str], Path]:
    def write(data: bytes, name: str = "model.onnx") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def serve(project, tmp_path):
    """add(name, model bytes, ...) -> a caller of the added function, published and configured."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)

        def add(name: str, data: bytes, labels: list[str] | None = None, sample: dict | None = None,
                label_args: list[str] | None = None, **options: Any):
            """``label_args``: --labels values as given (OUTPUT=FILE); ``options``: add_model's keywords."""
            from lepton_training.publish import publish

            model = tmp_path / f"{name}.onnx"
            model.write_bytes(data)
            labels_path = sample_path = None
            if labels:
                labels_path = tmp_path / f"{name}.labels"
                labels_path.write_text("\n".join(labels) + "\n")
            if sample:
                sample_path = tmp_path / f"{name}.sample.json"
                sample_path.write_text(json.dumps(sample))
            added = add_model(project, name, model, label_args or labels_path, sample_path, **options)
            published = publish(project / ".lepton" / "artifacts" / name, BUCKET, s3_client=s3)
            host = FunctionHost(Template(project / "template.yaml"))
            env = {"LEPTON_MODEL_BUCKET": BUCKET, "LEPTON_MODEL_KEY": published.model_key,
                   "LEPTON_MODEL_SHA256": published.sha256, "LEPTON_MODEL_VERSION": str(published.version),
                   "LEPTON_CACHE_DIR": str(tmp_path / "cache"), "LEPTON_DEPLOYMENTS_TABLE": ""}
            logical_id = added["logical_id"]

            def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
                raw = b"" if body is None else json.dumps(body).encode()
                event = http_event(method, path, f"{method} {path}", body=raw,
                                   headers={"content-type": "application/json"})
                response = host.invoke(logical_id, event, env=env, version=str(published.version))
                return response["statusCode"], json.loads(response["body"])

            call.manifest = added["manifest"]
            call.added = added
            return call

        yield add
