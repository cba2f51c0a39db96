"""The control API's configuration, validated from its environment once per configuration.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: the models this API manages
LEPTON_DEPLOYMENTS_TABLE   deployment records and live pointers (registry, rollout)
LEPTON_MODEL_BUCKET        where versions live: models/<name>/<version>/{model.onnx,manifest.json}
LEPTON_UPLOAD_URL_SECONDS  how long a presigned upload URL stays valid (default 900, 60..3600)
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from lepton_deploy.settings import FUNCTIONS_ENV, TABLE_ENV, functions_from, table_from
from lepton_serving.errors import ConfigError
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    functions: dict[str, str] = Field(min_length=1)
    table: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    upload_url_seconds: int = Field(default=900, ge=60, le=3600)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return _parse(env.get(FUNCTIONS_ENV, ""), env.get(TABLE_ENV, ""),
                      env.get("LEPTON_MODEL_BUCKET", ""), env.get("LEPTON_UPLOAD_URL_SECONDS", "900"))

    def function_for(self, model: str) -> str | None:
        return self.functions.get(model)


@lru_cache(maxsize=8)  # keyed by the raw values: a changed environment is validated again
def _parse(functions: str, table: str, bucket: str, seconds: str) -> Settings:
    raw = {FUNCTIONS_ENV: functions, TABLE_ENV: table}
    try:
        return Settings(functions=functions_from(raw), table=table_from(raw, "the control API"), bucket=bucket,
                        upload_url_seconds=seconds or "900")
    except ValidationError as exc:
        names = {"bucket": "LEPTON_MODEL_BUCKET", "upload_url_seconds": "LEPTON_UPLOAD_URL_SECONDS"}
        problems = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"the control API is misconfigured: {problems}") from exc
