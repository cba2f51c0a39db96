"""A version published under SnapStart is Pending while Lambda makes its snapshot and cannot be
invoked until Active: publishing waits for it. moto publishes every version Active at once, so
the Pending answers come from botocore's Stubber."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from lepton_deploy.errors import FunctionUpdateFailed
from lepton_deploy.functions import FunctionConfig, LambdaFunctions

STAGED = FunctionConfig(name="lepton-tabular", version="$LATEST", environment={}, code_sha256="abc",
                        revision="r1", update_status="Successful", update_reason="")


def stubbed(states: list[str]) -> tuple[LambdaFunctions, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response("publish_version", {"FunctionName": "lepton-tabular", "Version": "7", "State": states[0]},
                      {"FunctionName": "lepton-tabular", "CodeSha256": "abc", "Description": "tabular v7",
                       "RevisionId": "r1"})
    for state in states[1:]:
        stub.add_response("get_function_configuration", {"FunctionName": "lepton-tabular", "Version": "7",
                                                          "State": state},
                          {"FunctionName": "lepton-tabular", "Qualifier": "7"})
    return LambdaFunctions(client), stub


def test_publishing_returns_once_a_pending_snapstart_version_is_active():
    functions, stub = stubbed(["Pending", "Pending", "Active"])
    with stub:
        published = functions.publish(STAGED, "tabular v7", attempts=5, delay=0)
    stub.assert_no_pending_responses()  # both state reads were made
    assert published.version == "7"


def test_a_version_whose_snapshot_fails_is_refused_with_its_name():
    functions, stub = stubbed(["Pending", "Failed"])
    with stub, pytest.raises(FunctionUpdateFailed, match="lepton-tabular version 7 did not become active"):
        functions.publish(STAGED, "tabular v7", attempts=5, delay=0)
