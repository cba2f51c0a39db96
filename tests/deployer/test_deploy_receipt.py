"""Every published version's receipt, and the regression gate, through the real deployer.

moto stands in for Lambda's API; each published version runs in-process through the local
stack's stand-in for Invoke, which answers with REPORT lines and measures each version's cold
start in a fresh process of its own (lepton/local/lambda_api.py): the deployer reads the same
lines it reads in AWS. The slow version is the same network with 5,000 no-op Relu operators
after its output: the same answers, many times the work per call.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import onnxruntime
import pytest
from deploy_support import ROWS, good
from deployer.config import DeployerConfig
from deployer.handler import lambda_handler as deployer
from lepton_deploy.receipt import Receipt
from lepton_serving.errors import ConfigError
from onnx_models import manifest_for, mlp_model, with_noop_chain

SLOW_OPERATORS, SLOW_WIDTH = 1000, 32768


def deploy(stack, data: bytes, manifest) -> tuple:
    """Upload, let the deployer decide; the attempt it recorded and the live pointer after it."""
    stack.upload(data, manifest)
    assert stack.worker(deployer).run_once() is not None
    attempt = next(a for a in stack.registry.list_deployments("tabular") if a.version == manifest.version)
    return attempt, stack.registry.get_live("tabular")


def slow(version: int) -> tuple[bytes, object]:
    data = with_noop_chain(mlp_model(1), SLOW_OPERATORS, SLOW_WIDTH).SerializeToString()
    return data, manifest_for(data, "tabular", version, golden_rows=ROWS)


@contextmanager
def busy_machine(processes: int = 2) -> Iterator[None]:
    """Every core kept busy by other processes, as when other test suites share the machine."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_a_promoted_version_carries_its_receipt_in_its_record_and_the_live_pointer(measured_stack):
    # GIVEN a first version
    data, manifest = good(1)
    # WHEN it is deployed
    attempt, pointer = deploy(measured_stack, data, manifest)
    # THEN it is promoted with a receipt of every figure, each saying where it came from
    assert attempt.outcome == "promoted", attempt.reason
    receipt = Receipt.from_dict(attempt.receipt)
    assert receipt.version == 1 and receipt.function_version == pointer.live.function_version
    assert receipt.init_ms > 10 and receipt.cold_ms > 0
    assert "a fresh process: CPU time from spawn to handler imported" in receipt.sources["init"]
    assert 0 < receipt.p50_ms <= receipt.p99_ms and receipt.requests == 100
    assert receipt.billed_ms >= 1 and receipt.memory_mb == 1024 and 30 < receipt.max_memory_mb < 1024
    assert (receipt.model_bytes, receipt.sha256, receipt.opset) == (len(data), manifest.sha256, 17)
    assert receipt.onnxruntime == onnxruntime.__version__
    assert receipt.usd_per_million > 1.2  # at least Lambda's and the HTTP API's requests: $1.20
    assert receipt.sources["requests"] == "2 golden examples"
    assert "lepton_deploy/prices.json" in receipt.sources["cost"]
    # AND the live pointer keeps it with the release, where the registry (and batch estimates) read it
    assert pointer.live.receipt == attempt.receipt
    assert measured_stack.registry.receipt("tabular", 1) == receipt
    # AND the promotion's reason gives the figures
    assert "receipt: warm p99" in attempt.reason and "(nothing live to compare with)" in attempt.reason


def test_a_much_slower_version_is_refused_and_the_reason_gives_both_p99s(measured_stack):
    # GIVEN version 1 live, and version 2: the same answers through 1,000 more operators
    deploy(measured_stack, *good(1))
    data, manifest = slow(2)
    # WHEN it is deployed
    attempt, pointer = deploy(measured_stack, data, manifest)
    # THEN the regression gate refuses it, naming both versions' p99s, and version 1 stays live
    assert (attempt.outcome, attempt.check) == ("rejected", "receipt"), attempt.reason
    assert attempt.reason.startswith("version 2 regresses against version 1, which is live: warm p99 ")
    live_receipt = Receipt.from_dict(pointer.live.receipt)
    refused = Receipt.from_dict(attempt.receipt)
    assert f"against v1's " in attempt.reason and "limit 2x, above it in each of" in attempt.reason
    assert refused.p50_ms > 10 * live_receipt.p50_ms  # many times slower, whatever the machine's speed
    assert pointer.live.version == 1
    check = next(c for c in attempt.checks if c["name"] == "receipt")
    assert check["outcome"] == "failed" and check["figures"]["live"]["version"] == 1


def test_a_version_of_the_same_speed_is_promoted_even_on_a_busy_machine(measured_stack):
    deploy(measured_stack, *good(1))
    with busy_machine():
        for version in (2, 3):
            attempt, pointer = deploy(measured_stack, *good(version))
            assert attempt.outcome == "promoted", attempt.reason
            assert pointer.live.version == version
            assert f"receipt: warm p99" in attempt.reason and f"against v{version - 1}'s" in attempt.reason


def test_a_first_version_is_judged_against_the_init_budget(measured_stack, monkeypatch):
    monkeypatch.setenv("LEPTON_RECEIPT_MAX_INIT_MS", "1")
    attempt, pointer = deploy(measured_stack, *good(1))
    assert (attempt.outcome, attempt.check) == ("rejected", "receipt")
    assert "is over budget (a first version, nothing live to compare with): " in attempt.reason
    assert "(budget 1 ms)" in attempt.reason
    assert pointer is None


def test_a_first_version_is_judged_against_the_memory_headroom(measured_stack, monkeypatch):
    monkeypatch.setenv("LEPTON_RECEIPT_MEMORY_HEADROOM", "0.99")  # 10 MB of the 1,024 configured
    attempt, _ = deploy(measured_stack, *good(1))
    assert (attempt.outcome, attempt.check) == ("rejected", "receipt")
    assert "max memory" in attempt.reason and "of 1024 MB configured (limit 10 MB, 99% headroom)" in attempt.reason


@pytest.mark.parametrize("name,value,message", [
    ("LEPTON_RECEIPT_P99_RATIO", "0.5", "from 1 to 1000"),
    ("LEPTON_RECEIPT_INIT_RATIO", "nan", "must be a finite number"),
    ("LEPTON_RECEIPT_MAX_INIT_MS", "0", "from 1 to 900000"),
    ("LEPTON_RECEIPT_MEMORY_HEADROOM", "1", "in [0, 1)"),
    ("LEPTON_RECEIPT_REQUESTS", "5", "from 10 to 10000"),
    ("LEPTON_RECEIPT_ROUNDS", "2.5", "whole number"),
])
def test_a_threshold_that_makes_no_sense_is_refused_at_start(name, value, message):
    env = {**os.environ, "LEPTON_FUNCTIONS": '{"tabular": "f"}', "LEPTON_DEPLOYMENTS_TABLE": "t", name: value}
    with pytest.raises(ConfigError, match=name) as raised:
        DeployerConfig.from_env(env)
    assert message in str(raised.value)
