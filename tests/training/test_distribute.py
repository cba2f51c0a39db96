"""SM_HOSTS / TF_CONFIG -> strategy selection."""
from __future__ import annotations

import json

import pytest

from lepton_training.distribute import is_chief, make_strategy, resolve_tf_config, tf_config_from_sagemaker, worker_count


def test_sagemaker_hosts_become_a_worker_cluster() -> None:
    env = {"SM_HOSTS": json.dumps(["algo-2", "algo-1", "algo-3"]), "SM_CURRENT_HOST": "algo-2"}
    config = tf_config_from_sagemaker(env)
    assert config == {
        "cluster": {"worker": ["algo-1:2222", "algo-2:2222", "algo-3:2222"]},
        "task": {"type": "worker", "index": 1},
    }
    assert worker_count(config) == 3 and not is_chief(config)
    assert is_chief(tf_config_from_sagemaker(dict(env, SM_CURRENT_HOST="algo-1")))


def test_single_host_or_no_sagemaker_means_no_cluster() -> None:
    assert tf_config_from_sagemaker({"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1"}) is None
    assert tf_config_from_sagemaker({}) is None
    assert resolve_tf_config({}) is None and is_chief(None)


def test_unknown_current_host_is_an_error() -> None:
    with pytest.raises(ValueError, match="SM_CURRENT_HOST"):
        tf_config_from_sagemaker({"SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-9"})


def test_explicit_tf_config_wins_and_chief_role_is_honoured() -> None:
    tf_config = {"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker", "index": 0}}
    env = {"TF_CONFIG": json.dumps(tf_config), "SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-1"}
    assert resolve_tf_config(env) == tf_config
    assert worker_count(tf_config) == 2 and not is_chief(tf_config)


def test_one_worker_uses_the_default_strategy() -> None:
    import tensorflow as tf

    strategy = make_strategy({"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1"})
    assert not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    assert strategy.num_replicas_in_sync == 1
