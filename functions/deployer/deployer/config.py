"""The deployer's configuration, validated once per invocation from its environment.

LEPTON_FUNCTIONS             {"tabular": "<function name>"}: which function serves each model
LEPTON_DEPLOYMENTS_TABLE     deployment records, live pointers, leases, idempotency
LEPTON_MODEL_BUCKET          the only bucket uploads are accepted from (empty: any)
LEPTON_DEPLOY_QUEUE_URL      where the delayed canary check is sent (empty: promote by hand)
LEPTON_CANARY_WEIGHT         0 = promote at once; 0 < w < 1 = share of traffic for the new version
LEPTON_CANARY_BAKE_SECONDS   how long a canary runs before its check (SQS delays of at most 900 s each)
LEPTON_CANARY_MAX_ERROR_RATE 5xx answers / callers' requests of the canary above which it is rolled back
LEPTON_CANARY_MIN_REQUESTS   callers' requests the canary must have answered before it is judged
LEPTON_CANARY_MAX_REJECTION_INCREASE  how far the canary's 4xx rate may exceed the live version's
                             over the same window (lepton_deploy/canary.py)
LEPTON_MAX_MODEL_BYTES       size budget for one model file
LEPTON_MAX_LOAD_MS           budget for creating the onnxruntime session
LEPTON_MIN_METRICS           {"tabular": {"accuracy": 0.8, "loss": {"max": 0.5}}}; "*" = every model
LEPTON_IDEMPOTENCY_TTL_SECONDS how long a processed upload is remembered
LEPTON_LEASE_SECONDS         how long a deployer may hold a model's lease (a crashed holder loses it then)
LEPTON_MODEL_LAYER_PREFIX    model layers are named <prefix>-<model> (the deployer's IAM allows only those)
LEPTON_MODEL_LAYER_MAX_BYTES model + manifest bytes that travel in a layer; larger models are read
                             from S3 at cold start; 0 = never use a layer
LEPTON_CAPTURE_BUCKET        where the model functions' captured requests land (captures/) and the
                             replay gate's disagreeing cases are written (replays/); empty = no replay
LEPTON_REPLAY_REQUESTS       how many of the live version's newest captured requests a replay sends (N)
LEPTON_REPLAY_MIN_REQUESTS   fewer captured requests than this: the replay is skipped, with its reason
LEPTON_REPLAY_MAX_SECONDS    the most a replay may take (also bounded by the deployer's remaining time)
LEPTON_RECEIPT_REQUESTS      warm requests per version and round when a published version is measured
LEPTON_RECEIPT_ROUNDS        rounds at most: one whose p99 is over the limit is measured again
LEPTON_RECEIPT_P99_RATIO     refused when the warm p99 is above this many times the live version's
LEPTON_RECEIPT_INIT_RATIO    refused when the init is above this many times the live version's ...
LEPTON_RECEIPT_MAX_INIT_MS   ... or above this budget (a first version: the budget alone)
LEPTON_RECEIPT_MEMORY_HEADROOM  refused when max memory used is above (1 - this) x the configured memory
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lepton_deploy.canary import CanaryPolicy
from lepton_deploy.model_layer import DEFAULT_MAX_BYTES
from lepton_deploy.receipt_check import ReceiptSettings
from lepton_deploy.regression import Thresholds
from lepton_deploy.replay import ReplaySettings
from lepton_deploy.settings import functions_from, json_object, table_from
from lepton_serving.errors import ConfigError

from deployer.gate import Policy

MAX_SQS_DELAY = 900


@dataclass(frozen=True)
class DeployerConfig:
    functions: dict[str, str]
    table: str
    bucket: str = ""
    queue_url: str = ""
    canary_weight: float = 0.0
    canary_bake_seconds: int = 300
    canary: CanaryPolicy = field(default_factory=CanaryPolicy)
    max_model_bytes: int = 100 * 1024 * 1024
    max_load_ms: float = 10_000.0
    min_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency_ttl_seconds: int = 7 * 24 * 3600
    lease_seconds: int = 300
    model_layer_prefix: str = "lepton-model"
    model_layer_max_bytes: int = DEFAULT_MAX_BYTES
    capture_bucket: str = ""
    replay: ReplaySettings = ReplaySettings()
    receipt: ReceiptSettings = ReceiptSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeployerConfig:
        functions = functions_from(env)
        table = table_from(env, "the deployer")
        weight = _number(env, "LEPTON_CANARY_WEIGHT", 0.0)
        if not 0.0 <= weight < 1.0:
            raise ConfigError(f"LEPTON_CANARY_WEIGHT must be in [0, 1), got {weight}")
        raw_minimums = env.get("LEPTON_MIN_METRICS", "").strip()
        minimums = json_object(raw_minimums, "LEPTON_MIN_METRICS") if raw_minimums else {}
        if not all(isinstance(v, dict) for v in minimums.values()):
            raise ConfigError('LEPTON_MIN_METRICS must be {"<model>": {"<metric>": <min> | {"min": x, "max": y}}}')
        return cls(
            functions=functions,
            table=table,
            bucket=env.get("LEPTON_MODEL_BUCKET", ""),
            queue_url=env.get("LEPTON_DEPLOY_QUEUE_URL", ""),
            canary_weight=weight,
            canary_bake_seconds=_whole(env, "LEPTON_CANARY_BAKE_SECONDS", 300),
            canary=CanaryPolicy(
                max_error_rate=_number(env, "LEPTON_CANARY_MAX_ERROR_RATE", 0.05),
                min_requests=_whole(env, "LEPTON_CANARY_MIN_REQUESTS", 50, low=1),
                max_rejection_increase=_number(env, "LEPTON_CANARY_MAX_REJECTION_INCREASE", 0.05)),
            max_model_bytes=int(_number(env, "LEPTON_MAX_MODEL_BYTES", 100 * 1024 * 1024)),
            max_load_ms=_number(env, "LEPTON_MAX_LOAD_MS", 10_000.0),
            min_metrics=minimums,
            idempotency_ttl_seconds=int(_number(env, "LEPTON_IDEMPOTENCY_TTL_SECONDS", 7 * 24 * 3600)),
            lease_seconds=int(_number(env, "LEPTON_LEASE_SECONDS", 300)),
            model_layer_prefix=env.get("LEPTON_MODEL_LAYER_PREFIX", "").strip() or "lepton-model",
            model_layer_max_bytes=int(_number(env, "LEPTON_MODEL_LAYER_MAX_BYTES", DEFAULT_MAX_BYTES)),
            capture_bucket=env.get("LEPTON_CAPTURE_BUCKET", "").strip(),
            replay=replay_settings(env),
            receipt=receipt_settings(env),
        )

    def policy_for(self, model: str) -> Policy:
        minimums = {**self.min_metrics.get("*", {}), **self.min_metrics.get(model, {})}
        return Policy(self.max_model_bytes, self.max_load_ms, minimums, self.bucket, tuple(self.functions))


def replay_settings(env: Mapping[str, str]) -> ReplaySettings:
    default = ReplaySettings()
    requests = _whole(env, "LEPTON_REPLAY_REQUESTS", default.requests, 1, 10_000)
    least = _whole(env, "LEPTON_REPLAY_MIN_REQUESTS", default.min_requests, 1, 10_000)
    if least > requests:
        raise ConfigError(f"LEPTON_REPLAY_MIN_REQUESTS ({least}) must not be above LEPTON_REPLAY_REQUESTS ({requests})")
    seconds = _number(env, "LEPTON_REPLAY_MAX_SECONDS", default.max_seconds)
    if not 1.0 <= seconds <= 600.0:
        raise ConfigError(f"LEPTON_REPLAY_MAX_SECONDS must be from 1 to 600, got {seconds:g}")
    return ReplaySettings(requests, least, seconds)


def receipt_settings(env: Mapping[str, str]) -> ReceiptSettings:
    """How a published version is measured and the regression gate's thresholds (lepton_deploy.regression)."""
    default, limits = ReceiptSettings(), Thresholds()
    p99 = _number(env, "LEPTON_RECEIPT_P99_RATIO", limits.p99_ratio)
    init = _number(env, "LEPTON_RECEIPT_INIT_RATIO", limits.init_ratio)
    for name, ratio in (("LEPTON_RECEIPT_P99_RATIO", p99), ("LEPTON_RECEIPT_INIT_RATIO", init)):
        if not 1.0 <= ratio <= 1000.0:  # below 1, a version exactly as fast as the live one is refused
            raise ConfigError(f"{name} must be from 1 to 1000 (times the live version's), got {ratio:g}")
    budget = _number(env, "LEPTON_RECEIPT_MAX_INIT_MS", limits.init_budget_ms)
    if not 1.0 <= budget <= 900_000.0:
        raise ConfigError(f"LEPTON_RECEIPT_MAX_INIT_MS must be from 1 to 900000 ms, got {budget:g}")
    headroom = _number(env, "LEPTON_RECEIPT_MEMORY_HEADROOM", limits.memory_headroom)
    if not 0.0 <= headroom < 1.0:
        raise ConfigError(f"LEPTON_RECEIPT_MEMORY_HEADROOM must be in [0, 1) (0.2 keeps a fifth of the memory "
                          f"free), got {headroom:g}")
    return ReceiptSettings(requests=_whole(env, "LEPTON_RECEIPT_REQUESTS", default.requests, 10, 10_000),
                           rounds=_whole(env, "LEPTON_RECEIPT_ROUNDS", default.rounds, 1, 10),
                           thresholds=Thresholds(p99, init, budget, headroom))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A finite number: NaN and infinity are refused (NaN compares false, so every check passes)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int | None = None) -> int:
    """A whole number from ``low`` to ``high`` (no upper bound: None)."""
    value = _number(env, name, default)
    if not float(value).is_integer() or value < low or (high is not None and value > high):
        bounds = f" from {low} to {high}" if high is not None else f", {low} or more"
        raise ConfigError(f"{name} must be a whole number{bounds}, got {env.get(name, '').strip()!r}")
    return int(value)
