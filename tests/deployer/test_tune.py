"""`lepton tune` against a stack: the live version published at each memory size, invoked, priced,
and the function left as it was. moto stands in for Lambda's API; Invoke runs the published
versions in this process with REPORT lines (lepton/local/lambda_api.py), as the local stack does."""
from __future__ import annotations

from typing import Any

from deploy_support import FUNCTION, good
from deployer import handler as deployer_handler
from lepton.tune import measure_sizes, model_sizes, table
from lepton_deploy.receipt import Receipt


class LambdaThatRuns:
    """moto's Lambda client, whose Invoke runs the version (moto's cannot)."""

    def __init__(self, client: Any, local: Any):
        self.client, self.local = client, local

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        return self.local.invoke(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_tune_publishes_each_size_invokes_it_prices_it_and_leaves_the_function_as_it_was(measured_stack):
    stack = measured_stack
    # GIVEN a live version
    data, manifest = good(1)
    stack.upload(data, manifest)
    stack.worker(deployer_handler.lambda_handler).run_once()
    assert stack.registry.get_live("tabular").live.version == 1
    before = stack.lam.get_function_configuration(FunctionName=FUNCTION)
    versions_before = stack.versions()
    alias_before = stack.alias()["FunctionVersion"]
    lam = LambdaThatRuns(stack.lam, deployer_handler.lambda_handler.lambda_api)
    # WHEN it is tuned at three sizes
    results = measure_sizes(lam, stack.s3, stack.dynamodb, stack.table, "lepton-models-test", "tabular",
                            (512, 1024, 3008), requests=5)
    # THEN each size was measured: a cold start, five warm requests, its price at that size
    assert [r.memory_mb for r in results] == [512, 1024, 3008]
    assert all(r.init_ms is not None and r.init_ms > 0 and r.requests == 5 and r.p99_ms > 0 for r in results)
    assert results[0].usd_per_million < results[2].usd_per_million  # same billed ms, a third of the memory
    # AND the function is as it was: $LATEST's configuration, no extra versions, the alias untouched
    after = stack.lam.get_function_configuration(FunctionName=FUNCTION)
    assert (after["MemorySize"], after["Environment"], after.get("Layers")) == (
        before["MemorySize"], before["Environment"], before.get("Layers"))
    assert stack.versions() == versions_before
    assert stack.alias()["FunctionVersion"] == alias_before
    assert stack.registry.lease_holder("tabular") is None


def test_locally_tune_models_the_cpu_rule_from_the_receipt_and_says_the_cheapest():
    receipt = Receipt(model="tabular", version=3, function_version="4", measured_at="2026-12-07T10:00:00.000000Z",
                      init_ms=200.0, cold_ms=1.0, requests=100, p50_ms=0.4, p99_ms=0.9, billed_ms=1.0,
                      max_memory_mb=120, memory_mb=1769, model_bytes=1800, sha256="ab" * 32, opset=17,
                      onnxruntime="1.32.0", arch="arm64", usd_per_million=1.23)
    results = model_sizes(receipt, (128, 1769, 3008))
    small, full, large = results
    assert small.p99_ms == 0.9 * 1769 / 128 and full.p99_ms == large.p99_ms == 0.9
    assert full.billed_ms == 1.0  # as measured, at the receipt's own size
    assert small.billed_ms == 6.0  # the median's 0.4 ms x 13.8 = 5.5 ms, billed as 6 whole milliseconds
    assert full.usd_per_million < large.usd_per_million  # no faster above one vCPU, only dearer
    # the smallest size is the cheapest (6 ms billed x 0.125 GB is less than 1 ms x 1.73 GB), but its p99 of
    # 12.4 ms misses a 5 ms target, which 1,769 MB meets: the cheapest size for a target is not the smallest
    lines = "\n".join(table(results, p99_target=5.0))
    assert "cheapest: 128 MB" in lines and "for p99 <= 5 ms: 1769 MB" in lines
