"""The deployer's configuration, validated once from its environment (lepton_serving/environment.py's one way).

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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lepton_deploy.canary import CanaryPolicy
from lepton_deploy.model_layer import DEFAULT_MAX_BYTES
from lepton_deploy.receipt_check import ReceiptSettings
from lepton_deploy.regression import Thresholds
from lepton_deploy.replay import ReplaySettings
from lepton_deploy.settings import read_functions, read_table
from lepton_serving.environment import EnvReader

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
        """The settings, or a ConfigError that names every variable with a bad value
        (lepton_serving/environment.py: the one way every function reads its environment)."""
        read = EnvReader(env, "the deployer")
        minimums = read.json_object("LEPTON_MIN_METRICS")
        if not all(isinstance(v, dict) for v in minimums.values()):
            read.add(['LEPTON_MIN_METRICS must be {"<model>": {"<metric>": <min> | {"min": x, "max": y}}}'])
        default = CanaryPolicy()
        config = cls(
            functions=read_functions(read),
            table=read_table(read),
            bucket=read.text("LEPTON_MODEL_BUCKET"),
            queue_url=read.text("LEPTON_DEPLOY_QUEUE_URL"),
            canary_weight=read.number("LEPTON_CANARY_WEIGHT", 0.0, low=0.0, below=1.0),
            canary_bake_seconds=read.whole("LEPTON_CANARY_BAKE_SECONDS", 300, low=0),
            canary=CanaryPolicy(
                max_error_rate=read.number("LEPTON_CANARY_MAX_ERROR_RATE", default.max_error_rate, low=0.0, high=1.0),
                min_requests=read.whole("LEPTON_CANARY_MIN_REQUESTS", default.min_requests, low=1),
                max_rejection_increase=read.number("LEPTON_CANARY_MAX_REJECTION_INCREASE",
                                                   default.max_rejection_increase, low=0.0, high=1.0)),
            max_model_bytes=read.whole("LEPTON_MAX_MODEL_BYTES", 100 * 1024 * 1024, low=1),
            max_load_ms=read.number("LEPTON_MAX_LOAD_MS", 10_000.0, low=0.0),
            min_metrics={m: v for m, v in minimums.items() if isinstance(v, dict)},
            idempotency_ttl_seconds=read.whole("LEPTON_IDEMPOTENCY_TTL_SECONDS", 7 * 24 * 3600, low=1),
            lease_seconds=read.whole("LEPTON_LEASE_SECONDS", 300, low=1),
            model_layer_prefix=read.text("LEPTON_MODEL_LAYER_PREFIX", "lepton-model"),
            model_layer_max_bytes=read.whole("LEPTON_MODEL_LAYER_MAX_BYTES", DEFAULT_MAX_BYTES, low=0),
            capture_bucket=read.text("LEPTON_CAPTURE_BUCKET"),
            replay=replay_settings(read),
            receipt=receipt_settings(read),
        )
        read.done()
        return config

    def policy_for(self, model: str) -> Policy:
        minimums = {**self.min_metrics.get("*", {}), **self.min_metrics.get(model, {})}
        return Policy(self.max_model_bytes, self.max_load_ms, minimums, self.bucket, tuple(self.functions))


def replay_settings(read: EnvReader) -> ReplaySettings:
    default = ReplaySettings()
    requests = read.whole("LEPTON_REPLAY_REQUESTS", default.requests, low=1, high=10_000)
    least = read.whole("LEPTON_REPLAY_MIN_REQUESTS", default.min_requests, low=1, high=10_000)
    if least > requests:
        read.add([f"LEPTON_REPLAY_MIN_REQUESTS ({least}) must not be above LEPTON_REPLAY_REQUESTS ({requests})"])
    seconds = read.number("LEPTON_REPLAY_MAX_SECONDS", default.max_seconds, low=1.0, high=600.0)
    return ReplaySettings(requests, least, seconds)


def receipt_settings(read: EnvReader) -> ReceiptSettings:
    """How a published version is measured and the regression gate's thresholds (lepton_deploy.regression).
    A ratio below 1 would refuse a version exactly as fast as the live one."""
    default, limits = ReceiptSettings(), Thresholds()
    return ReceiptSettings(
        requests=read.whole("LEPTON_RECEIPT_REQUESTS", default.requests, low=10, high=10_000),
        rounds=read.whole("LEPTON_RECEIPT_ROUNDS", default.rounds, low=1, high=10),
        thresholds=Thresholds(
            p99_ratio=read.number("LEPTON_RECEIPT_P99_RATIO", limits.p99_ratio, low=1.0, high=1000.0),
            init_ratio=read.number("LEPTON_RECEIPT_INIT_RATIO", limits.init_ratio, low=1.0, high=1000.0),
            init_budget_ms=read.number("LEPTON_RECEIPT_MAX_INIT_MS", limits.init_budget_ms, low=1.0, high=900_000.0),
            # 0.2 keeps a fifth of the memory free
            memory_headroom=read.number("LEPTON_RECEIPT_MEMORY_HEADROOM", limits.memory_headroom, low=0.0,
                                        below=1.0)))
