"""The control API's configuration, validated from its environment once per configuration.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: the models this API manages
LEPTON_DEPLOYMENTS_TABLE   deployment records and live pointers (registry, rollout)
LEPTON_MODEL_BUCKET        where versions live: models/<name>/<version>/{model.onnx,manifest.json}
LEPTON_UPLOAD_URL_SECONDS  how long a presigned upload URL stays valid (default 900, 60..3600)
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache

from lepton_serving.errors import LeptonError
from lepton_serving.manifest import valid_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(LeptonError):
    """The function's environment is missing or wrong: every request fails until it is fixed."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    functions: dict[str, str] = Field(min_length=1)
    table: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    upload_url_seconds: int = Field(default=900, ge=60, le=3600)

    @field_validator("functions")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [m for m, fn in value.items() if not valid_name(m) or not isinstance(fn, str) or not fn]
        if bad:
            raise ValueError(f"each model name must be lower-case letters, digits and '-' and map to a "
                             f"function name; wrong: {', '.join(map(repr, bad))}")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return _parse(env.get("LEPTON_FUNCTIONS", ""), env.get("LEPTON_DEPLOYMENTS_TABLE", ""),
                      env.get("LEPTON_MODEL_BUCKET", ""), env.get("LEPTON_UPLOAD_URL_SECONDS", "900"))

    def function_for(self, model: str) -> str | None:
        return self.functions.get(model)


@lru_cache(maxsize=8)  # keyed by the raw values: a changed environment is validated again
def _parse(functions: str, table: str, bucket: str, seconds: str) -> Settings:
    try:
        mapping = json.loads(functions) if functions.strip() else {}
    except ValueError as exc:
        raise ConfigError(f"LEPTON_FUNCTIONS is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict):
        raise ConfigError('LEPTON_FUNCTIONS must be a JSON object, e.g. {"tabular": "lepton-tabular"}')
    try:
        return Settings(functions=mapping, table=table, bucket=bucket, upload_url_seconds=seconds or "900")
    except ValidationError as exc:
        names = {"functions": "LEPTON_FUNCTIONS", "table": "LEPTON_DEPLOYMENTS_TABLE",
                 "bucket": "LEPTON_MODEL_BUCKET", "upload_url_seconds": "LEPTON_UPLOAD_URL_SECONDS"}
        problems = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"the control API is misconfigured: {problems}") from exc
