"""A model function's settings, read once from its environment when it starts (environment.py).

The template sets the model's name and bucket; a deployment pins the model (pins.py). With no
model pinned, the function asks the deployment record which version is live. When the deployer
shipped the version in a Lambda layer, LEPTON_MODEL_DIR is where Lambda mounted it
(layer_model.py). The caller hands the environment in (`serve` reads the process's once, at init).

LEPTON_MODEL_NAME          the model this function serves (required)
LEPTON_MODEL_BUCKET, _KEY, _SHA256, _VERSION, LEPTON_MANIFEST_SHA256   the pinned model (pins.py)
LEPTON_DEPLOYMENTS_TABLE   where the live version is read when none is pinned (empty: never)
LEPTON_CACHE_DIR           where models fetched from S3 are kept (default /tmp/lepton-models)
LEPTON_MODEL_DIR           a mounted model layer (default /opt/lepton-model; set but empty: none)
LEPTON_MAX_BATCH           rows one request may carry (default 64, at least 1)
LEPTON_MAX_BODY_BYTES      the largest request body (default and at most Lambda's 6 MB payload)
LEPTON_THREADS             onnxruntime's intra-op threads (default 0: the function's vCPUs)
AWS_LAMBDA_FUNCTION_MEMORY_SIZE   set by Lambda: the memory, and so the vCPUs, it has
LEPTON_CAPTURE_SAMPLE_RATE, _REDACT, _MAX_TENSOR_BYTES   payload capture (capture.py)
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .capture import CaptureSettings
from .environment import EnvReader
from .pins import ModelPins

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
#: Lambda extracts a function's layers into /opt; the deployer's model layer holds lepton-model/.
DEFAULT_MODEL_DIR = "/opt/lepton-model"
_VCPU_MEMORY_MB = 1769  # Lambda allocates one vCPU per 1,769 MB of memory
MODEL_DIR_ENV = "LEPTON_MODEL_DIR"


@dataclass(frozen=True)
class ServingConfig:
    model_name: str
    pins: ModelPins = field(default_factory=ModelPins)
    deployments_table: str = ""
    cache_dir: str = "/tmp/lepton-models"
    model_dir: str = DEFAULT_MODEL_DIR  # a mounted model layer; "" = never look for one
    max_batch: int = 64
    max_body_bytes: int = LAMBDA_PAYLOAD_LIMIT
    threads: int = 1
    capture: CaptureSettings = field(default_factory=CaptureSettings)  # what share of requests is recorded, how

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServingConfig:
        """The settings, or a ConfigError that names every variable with a bad value."""
        read = EnvReader(env, f"the model function {env.get('LEPTON_MODEL_NAME') or ''}".rstrip())
        pins = ModelPins.from_env(env)
        read.add(pins.problems())
        threads = read.whole("LEPTON_THREADS", 0, low=0, high=64)
        config = cls(
            model_name=read.text("LEPTON_MODEL_NAME", required=True),
            pins=pins,
            deployments_table=read.text("LEPTON_DEPLOYMENTS_TABLE"),
            cache_dir=read.text("LEPTON_CACHE_DIR", "/tmp/lepton-models"),
            # Set but empty is a choice (the local stack: this version has no model layer).
            model_dir=read.raw(MODEL_DIR_ENV) if MODEL_DIR_ENV in env else DEFAULT_MODEL_DIR,
            max_batch=read.whole("LEPTON_MAX_BATCH", 64, low=1),
            max_body_bytes=read.whole("LEPTON_MAX_BODY_BYTES", LAMBDA_PAYLOAD_LIMIT, low=1, high=LAMBDA_PAYLOAD_LIMIT),
            threads=threads or vcpus(read),
            capture=CaptureSettings.read(read),
        )
        read.done()
        return config


def vcpus(read: EnvReader) -> int:
    """vCPUs this function really has: from Lambda's memory size, else the CPUs we may use."""
    memory = read.whole("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0, low=128, high=10240)
    if memory:
        return max(1, min(6, math.ceil(memory / _VCPU_MEMORY_MB)))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
