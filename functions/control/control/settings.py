"""The control API's configuration, validated from its environment once per configuration.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: the models this API manages
LEPTON_DEPLOYMENTS_TABLE   deployment records and live pointers (registry, rollout)
LEPTON_MODEL_BUCKET        where versions live: models/<name>/<version>/{model.onnx,manifest.json}
LEPTON_UPLOAD_URL_SECONDS  how long a presigned upload URL stays valid (default 900, 60..3600)
LEPTON_MAX_UPLOAD_BYTES    the largest model.onnx a presigned upload takes (default 100 MiB)
LEPTON_BATCH_STATE_MACHINE the batch-scoring state machine's ARN; empty: no batch jobs on this stack
LEPTON_BATCH_BUCKET        where batch inputs and answers live
LEPTON_BATCH_MAX_CONCURRENCY, LEPTON_BATCH_TOLERATED_FAILURE_PERCENTAGE  the template's Batch* parameters
LEPTON_BATCH_UNAVAILABLE   why batch jobs cannot run here (the local stack says so), if they cannot
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from lepton_deploy.settings import FUNCTIONS_ENV, TABLE_ENV, functions_from, table_from
from lepton_serving.errors import ConfigError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The deployer's own LEPTON_MAX_MODEL_BYTES default: a larger model would be rejected anyway.
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    functions: dict[str, str] = Field(min_length=1)
    table: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    upload_url_seconds: int = Field(default=900, ge=60, le=3600)
    max_upload_bytes: int = Field(default=DEFAULT_MAX_UPLOAD_BYTES, ge=1024, le=5 * 1024**3)  # S3 POST: 5 GiB
    batch_state_machine: str = ""
    batch_bucket: str = ""
    batch_max_concurrency: int = Field(default=10, ge=1, le=10_000)
    batch_tolerated_failure_percentage: float = Field(default=0.0, ge=0.0, le=100.0)
    batch_unavailable: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return _parse(env.get(FUNCTIONS_ENV, ""), env.get(TABLE_ENV, ""), env.get("LEPTON_MODEL_BUCKET", ""),
                      env.get("LEPTON_UPLOAD_URL_SECONDS", "900"),
                      env.get("LEPTON_MAX_UPLOAD_BYTES", str(DEFAULT_MAX_UPLOAD_BYTES)),
                      tuple(env.get(name, "") for name in BATCH_ENV.values()))

    def function_for(self, model: str) -> str | None:
        return self.functions.get(model)


#: Settings field -> the variable it is read from, for the batch-scoring jobs.
BATCH_ENV = {"batch_state_machine": "LEPTON_BATCH_STATE_MACHINE", "batch_bucket": "LEPTON_BATCH_BUCKET",
             "batch_max_concurrency": "LEPTON_BATCH_MAX_CONCURRENCY",
             "batch_tolerated_failure_percentage": "LEPTON_BATCH_TOLERATED_FAILURE_PERCENTAGE",
             "batch_unavailable": "LEPTON_BATCH_UNAVAILABLE"}


@lru_cache(maxsize=8)  # keyed by the raw values: a changed environment is validated again
def _parse(functions: str, table: str, bucket: str, seconds: str, max_upload: str,
           batch: tuple[str, ...] = ()) -> Settings:
    raw = {FUNCTIONS_ENV: functions, TABLE_ENV: table}
    given = {field: value for field, value in zip(BATCH_ENV, batch) if value}
    try:
        return Settings(functions=functions_from(raw), table=table_from(raw, "the control API"), bucket=bucket,
                        upload_url_seconds=seconds or "900",
                        max_upload_bytes=max_upload or str(DEFAULT_MAX_UPLOAD_BYTES), **given)
    except ValidationError as exc:
        names = {"bucket": "LEPTON_MODEL_BUCKET", "upload_url_seconds": "LEPTON_UPLOAD_URL_SECONDS",
                 "max_upload_bytes": "LEPTON_MAX_UPLOAD_BYTES", **BATCH_ENV}
        problems = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"the control API is misconfigured: {problems}") from exc
