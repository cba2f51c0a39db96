"""Pick the tf.distribute strategy: multi-worker when TF_CONFIG or SageMaker lists several hosts.

SageMaker does not set TF_CONFIG for a custom container; it sets ``SM_HOSTS`` (a JSON list such
as ``["algo-1", "algo-2"]``) and ``SM_CURRENT_HOST``. Those become a TF_CONFIG with one worker
per host; the first host is the chief, which is the only one that writes artifacts.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

WORKER_PORT = 2222


def tf_config_from_sagemaker(env: Mapping[str, str]) -> dict[str, Any] | None:
    """TF_CONFIG for a multi-host SageMaker job, or None for a single host / not SageMaker."""
    raw = env.get("SM_HOSTS")
    if not raw:
        return None
    hosts = sorted(json.loads(raw))
    if len(hosts) < 2:
        return None
    current = env.get("SM_CURRENT_HOST")
    if current not in hosts:
        raise ValueError(f"SM_CURRENT_HOST={current!r} is not one of SM_HOSTS={hosts}")
    return {
        "cluster": {"worker": [f"{host}:{WORKER_PORT}" for host in hosts]},
        "task": {"type": "worker", "index": hosts.index(current)},
    }


def worker_count(tf_config: Mapping[str, Any] | None) -> int:
    if not tf_config:
        return 1
    cluster = tf_config.get("cluster", {})
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker"))


def resolve_tf_config(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The effective TF_CONFIG: an explicit one wins, else one built from SM_HOSTS."""
    env = os.environ if env is None else env
    if env.get("TF_CONFIG"):
        return json.loads(env["TF_CONFIG"])
    return tf_config_from_sagemaker(env)


def is_chief(tf_config: Mapping[str, Any] | None) -> bool:
    """The task that writes artifacts: the 'chief', else worker 0, else the only process."""
    if not tf_config or worker_count(tf_config) < 2:
        return True
    task = tf_config.get("task", {})
    has_chief = bool(tf_config.get("cluster", {}).get("chief"))
    if has_chief:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def make_strategy(env: Mapping[str, str] | None = None) -> Any:
    """MultiWorkerMirroredStrategy for more than one worker, else TensorFlow's default strategy.

    Must run before any other TensorFlow op when multi-worker (TensorFlow's requirement).
    """
    from .tf_env import import_tensorflow

    tf_config = resolve_tf_config(env)
    tf = import_tensorflow()
    if worker_count(tf_config) > 1:
        os.environ["TF_CONFIG"] = json.dumps(tf_config)
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
