"""A model function's configuration, read once from its environment.

The template sets the name and bucket; a deployment adds the model key, sha256 and version.
With no key set, the function asks the deployment record which version is live. When the
deployer shipped the version in a Lambda layer, LEPTON_MODEL_DIR is where Lambda mounted it
(layer_model.py). The caller hands the environment in (`serve` reads the process's once, at init).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .pins import ModelPins

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
#: Lambda extracts a function's layers into /opt; the deployer's model layer holds lepton-model/.
DEFAULT_MODEL_DIR = "/opt/lepton-model"
_VCPU_MEMORY_MB = 1769  # Lambda allocates one vCPU per 1,769 MB of memory


@dataclass(frozen=True)
class ServingConfig:
    model_name: str
    pins: ModelPins = field(default_factory=ModelPins)
    deployments_table: str = ""
    cache_dir: str = "/tmp/lepton-models"
    model_dir: str = DEFAULT_MODEL_DIR  # a mounted model layer; "" = never look for one
    max_batch: int = 64
    max_body_bytes: int = LAMBDA_PAYLOAD_LIMIT
    threads: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServingConfig:
        return cls(
            model_name=env.get("LEPTON_MODEL_NAME", ""),
            pins=ModelPins.from_env(env),
            deployments_table=env.get("LEPTON_DEPLOYMENTS_TABLE", ""),
            cache_dir=env.get("LEPTON_CACHE_DIR", "/tmp/lepton-models"),
            model_dir=env.get("LEPTON_MODEL_DIR", DEFAULT_MODEL_DIR),
            max_batch=_int(env, "LEPTON_MAX_BATCH", 64),
            max_body_bytes=_int(env, "LEPTON_MAX_BODY_BYTES", LAMBDA_PAYLOAD_LIMIT),
            threads=_int(env, "LEPTON_THREADS", 0) or vcpus(env),
        )


def vcpus(env: Mapping[str, str]) -> int:
    """vCPUs this function really has: from Lambda's memory size, else the CPUs we may use."""
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory and memory.isdigit():
        return max(1, min(6, math.ceil(int(memory) / _VCPU_MEMORY_MB)))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return default
