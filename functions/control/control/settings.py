"""The control API's settings, read from its environment the one way every function reads its
own (lepton_serving/environment.py): typed, validated once per environment, never guessed.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: the models this API manages
LEPTON_DEPLOYMENTS_TABLE   deployment records and live pointers (registry, rollout)
LEPTON_MODEL_BUCKET        where versions live: models/<name>/<version>/{model.onnx,manifest.json}
LEPTON_UPLOAD_URL_SECONDS  how long a presigned upload URL stays valid (default 900, 60..3600)
LEPTON_MAX_UPLOAD_BYTES    the largest model.onnx a presigned upload takes (default 100 MiB)
LEPTON_BATCH_STATE_MACHINE the batch-scoring state machine's ARN; empty: no batch jobs on this stack
LEPTON_BATCH_BUCKET        where batch inputs and answers live
LEPTON_BATCH_MAX_CONCURRENCY, LEPTON_BATCH_TOLERATED_FAILURE_PERCENTAGE  the template's Batch* parameters
LEPTON_BATCH_UNAVAILABLE   why batch jobs cannot run here (the local stack says so), if they cannot
LEPTON_CAPTURE_BUCKET      captured requests, for `lepton replay` (empty: none on this stack)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lepton_deploy.settings import read_functions, read_table
from lepton_serving.environment import EnvReader, once_per_environment

#: The deployer's own LEPTON_MAX_MODEL_BYTES default: a larger model would be rejected anyway.
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_POST_BYTES = 5 * 1024**3  # the largest object an S3 POST upload takes


@dataclass(frozen=True)
class Settings:
    functions: dict[str, str]
    table: str
    bucket: str
    upload_url_seconds: int = 900
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    batch_state_machine: str = ""
    batch_bucket: str = ""
    batch_max_concurrency: int = 10
    batch_tolerated_failure_percentage: float = 0.0
    batch_unavailable: str = ""
    capture_bucket: str = ""  # captured requests, for `lepton replay` ("" = none on this stack)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings, or a ConfigError that names every variable with a bad value."""
        return _validated(env)

    @classmethod
    def parse(cls, env: Mapping[str, str]) -> Settings:
        read = EnvReader(env, "the control API")
        settings = cls(
            functions=read_functions(read),
            table=read_table(read),
            bucket=read.text("LEPTON_MODEL_BUCKET", required=True),
            upload_url_seconds=read.whole("LEPTON_UPLOAD_URL_SECONDS", 900, low=60, high=3600),
            max_upload_bytes=read.whole("LEPTON_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, low=1024,
                                        high=MAX_POST_BYTES),
            batch_state_machine=read.text("LEPTON_BATCH_STATE_MACHINE"),
            batch_bucket=read.text("LEPTON_BATCH_BUCKET"),
            batch_max_concurrency=read.whole("LEPTON_BATCH_MAX_CONCURRENCY", 10, low=1, high=10_000),
            batch_tolerated_failure_percentage=read.number("LEPTON_BATCH_TOLERATED_FAILURE_PERCENTAGE", 0.0,
                                                           low=0.0, high=100.0),
            batch_unavailable=read.text("LEPTON_BATCH_UNAVAILABLE"),
            capture_bucket=read.text("LEPTON_CAPTURE_BUCKET"),
        )
        read.done()
        return settings

    def function_for(self, model: str) -> str | None:
        return self.functions.get(model)


# The app looks at its environment on each request (Lambda's never changes): validated once.
_validated = once_per_environment(Settings.parse)
