"""The control API's configuration, validated from its environment once per configuration.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: the models this API manages
LEPTON_DEPLOYMENTS_TABLE   deployment records and live pointers (registry, rollout)
LEPTON_MODEL_BUCKET        where versions live: models/<name>/<version>/{model.onnx,manifest.json}
LEPTON_UPLOAD_URL_SECONDS  how long a presigned upload URL stays valid (default 900, 60..3600)
LEPTON_MAX_UPLOAD_BYTES    the largest model.onnx a presigned upload takes (default 100 MiB)
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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return _parse(env.get(FUNCTIONS_ENV, ""), env.get(TABLE_ENV, ""), env.get("LEPTON_MODEL_BUCKET", ""),
                      env.get("LEPTON_UPLOAD_URL_SECONDS", "900"),
                      env.get("LEPTON_MAX_UPLOAD_BYTES", str(DEFAULT_MAX_UPLOAD_BYTES)))

    def function_for(self, model: str) -> str | None:
        return self.functions.get(model)


@lru_cache(maxsize=8)  # keyed by the raw values: a changed environment is validated again
def _parse(functions: str, table: str, bucket: str, seconds: str, max_upload: str) -> Settings:
    raw = {FUNCTIONS_ENV: functions, TABLE_ENV: table}
    try:
        return Settings(functions=functions_from(raw), table=table_from(raw, "the control API"), bucket=bucket,
                        upload_url_seconds=seconds or "900",
                        max_upload_bytes=max_upload or str(DEFAULT_MAX_UPLOAD_BYTES))
    except ValidationError as exc:
        names = {"bucket": "LEPTON_MODEL_BUCKET", "upload_url_seconds": "LEPTON_UPLOAD_URL_SECONDS",
                 "max_upload_bytes": "LEPTON_MAX_UPLOAD_BYTES"}
        problems = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"the control API is misconfigured: {problems}") from exc
