"""In AWS the receipt is read from Lambda's own REPORT lines. moto's Invoke runs no code, so
Lambda's answers are given with botocore's Stubber, in Invoke's real shape: the payload, and the
log tail (LogResult) ending in a REPORT line of Lambda's own format; the deployer's code path
(LambdaInvoker -> Meter -> take_receipt) is the one it runs in AWS."""
from __future__ import annotations

import base64
import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from deploy_support import good
from lepton_deploy.functions import FunctionConfig
from lepton_deploy.invoke import LambdaInvoker, infer_event
from lepton_deploy.measure import Meter, Workload, percentile
from lepton_deploy.prices import load
from lepton_deploy.receipt_check import ModelFacts, ReceiptSettings, take_receipt
from lepton_serving.origin import RECEIPT

OK = {"statusCode": 200, "body": json.dumps({"model_name": "tabular", "outputs": []})}


def answer(duration_ms: float, billed_ms: int, init: str = "") -> dict:
    tail = (f"START RequestId: 1f2e Version: 4\nEND RequestId: 1f2e\n"
            f"REPORT RequestId: 1f2e\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed_ms} ms\t"
            f"Memory Size: 1024 MB\tMax Memory Used: 131 MB\t{init}\n")
    body = json.dumps(OK).encode()
    return {"StatusCode": 200, "ExecutedVersion": "4", "LogResult": base64.b64encode(tail.encode()).decode(),
            "Payload": StreamingBody(io.BytesIO(body), len(body))}


@pytest.mark.parametrize("cold,init_ms", [("Init Duration: 412.50 ms\t", 412.5),
                                          ("Restore Duration: 187.25 ms\tBilled Restore Duration: 187 ms\t", 187.25)])
def test_a_first_versions_receipt_is_read_from_lambdas_report_lines(cold, init_ms):
    # GIVEN Lambda answering a newly published version: cold on the first call, then warm
    client = boto3.client("lambda", region_name="us-east-1")
    warm = [1.8 + 0.1 * i for i in range(10)]
    with Stubber(client) as stub:
        params = {"FunctionName": "lepton-tabular", "Qualifier": "4", "InvocationType": "RequestResponse",
                  "Payload": ANY, "LogType": "Tail"}
        stub.add_response("invoke", answer(2.9, 416, cold), params)
        for duration in warm:
            stub.add_response("invoke", answer(duration, 2), params)
        meter = Meter()
        _, manifest = good(1)
        # WHEN the deployer takes the receipt of function version 4 (nothing live yet)
        taken = take_receipt(
            LambdaInvoker(client, meter), meter, model="tabular", version=1,
            function=FunctionConfig("lepton-tabular", "$LATEST", architectures=("arm64",), memory_mb=1024),
            qualifier="4", live=None, workload=Workload.of(manifest),
            event_for=lambda body, i: infer_event("tabular", body, RECEIPT), facts=ModelFacts(1800, "ab" * 32, 17, "1.32.0"),
            settings=ReceiptSettings(requests=10, rounds=1), prices=load())
        stub.assert_no_pending_responses()
    # THEN its figures are Lambda's own, each saying so
    receipt = taken.receipt
    assert (receipt.init_ms, receipt.cold_ms, receipt.max_memory_mb, receipt.memory_mb) == (init_ms, 2.9, 131, 1024)
    assert receipt.p50_ms == pytest.approx(percentile(warm, 50)) and receipt.p99_ms == pytest.approx(percentile(warm, 99))
    assert receipt.billed_ms == 2 and receipt.requests == 10 and receipt.arch == "arm64"
    assert "Lambda's REPORT line" in receipt.sources["init"] and "Lambda's REPORT line" in receipt.sources["warm"]
    assert not taken.verdict.refused
