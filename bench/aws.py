"""A moto S3 server on a free port holding the benchmark's models, as the model bucket would."""
from __future__ import annotations

import os
from typing import Any

from .common import free_port
from .models import BenchModel

BUCKET = "lepton-bench-models"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


class LocalS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.server: Any = None
        self.s3: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalS3:
        import boto3
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        self.s3.create_bucket(Bucket=BUCKET)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()

    def publish(self, model: BenchModel) -> None:
        """model.onnx (and tokenizer.json) then manifest.json under models/<name>/<version>/ (the manifest last, as
        lepton_training.publish writes them; done by hand so TensorFlow stays out of this process)."""
        version = int(model.manifest["version"])
        prefix = f"models/{model.name}/{version}/"
        self.s3.put_object(Bucket=BUCKET, Key=prefix + "model.onnx", Body=model.model_path.read_bytes())
        if model.tokenizer_path is not None:
            self.s3.put_object(Bucket=BUCKET, Key=prefix + "tokenizer.json", Body=model.tokenizer_path.read_bytes())
        self.s3.put_object(Bucket=BUCKET, Key=prefix + "manifest.json",
                           Body=(model.artifact_dir / "manifest.json").read_bytes())
        model.key, model.version = prefix + "model.onnx", str(version)
        if model.keras_path is not None:
            self.s3.put_object(Bucket=BUCKET, Key=f"keras/{model.name}/model.keras",
                               Body=model.keras_path.read_bytes())

    def function_env(self, model: BenchModel, cache_dir: str, model_dir: str = "") -> dict[str, str]:
        """What the model function's environment holds once a version is deployed (plus local AWS);
        ``model_dir``: the model layer's contents (LEPTON_MODEL_DIR), else the model is read from S3."""
        import hashlib

        return {
            **({"LEPTON_MODEL_DIR": model_dir} if model_dir else {}),
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": model.name,
            "POWERTOOLS_METRICS_NAMESPACE": "Lepton",
            "LEPTON_MODEL_NAME": model.name,
            "LEPTON_MODEL_BUCKET": BUCKET,
            "LEPTON_MODEL_KEY": model.key,
            "LEPTON_MODEL_SHA256": model.sha256,
            "LEPTON_MANIFEST_SHA256": hashlib.sha256((model.artifact_dir / "manifest.json").read_bytes()).hexdigest(),
            "LEPTON_MODEL_VERSION": model.version,
            "LEPTON_CACHE_DIR": cache_dir,
            # the template's MemorySize: 1024 MB is one vCPU, so one onnxruntime thread
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        }


def apply_env(env: dict[str, str]) -> dict[str, str | None]:
    """Set `env` in os.environ (boto3 reads its endpoint there); returns what to restore."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return saved


def restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
