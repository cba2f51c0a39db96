"""Faults the deployer must survive: killed mid-promotion, throttled, raced, and a message that
can never succeed. moto cannot fail on demand, so faults are injected into the real calls
(botocore's event hooks, or the first call of a method); everything else is moto."""
from __future__ import annotations

import json
import time
from urllib.parse import unquote

import pytest
from deploy_support import ROWS, good
from deployer.handler import lambda_handler as deployer
from lepton_deploy.errors import FunctionUpdateFailed
from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.registry import Registry
from lepton_serving import clients


class Killed(BaseException):
    """The deployer stopped dead (a Lambda timeout, an out-of-memory kill): no handler runs."""


def kill_once(monkeypatch, cls, method: str) -> list[str]:
    """``cls.method`` does its real work, then the process dies, the first time only. The lease is
    not released either, as nothing runs after a kill."""
    original, killed = getattr(cls, method), []
    release = Registry.release_lease

    def dying(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if not killed:
            killed.append(method)
            raise Killed(method)
        return result

    def keep_lease_when_killed(self, model, owner):
        if not killed:
            release(self, model, owner)

    monkeypatch.setattr(cls, method, dying)
    monkeypatch.setattr(Registry, "release_lease", keep_lease_when_killed)
    return killed


@pytest.fixture
def short_timeouts(stack, monkeypatch):
    """A 1 s lease and visibility timeout, so a killed delivery's leftovers expire within the test."""
    monkeypatch.setenv("LEPTON_LEASE_SECONDS", "1")
    stack.sqs.set_queue_attributes(QueueUrl=stack.queue_url, Attributes={"VisibilityTimeout": "1"})
    return stack


def deliver(stack, timeout_s: float = 1.0) -> dict | None:
    worker = stack.worker(deployer)
    worker.timeout_s = timeout_s  # the idempotency record of a killed run expires with it
    return worker.run_once()


@pytest.mark.parametrize("cls, method", [
    (LambdaFunctions, "publish"),      # after the version is published, before the alias moves
    (LambdaFunctions, "move_alias"),   # after the alias moved, before the live pointer is written
    (Registry, "put_live"),            # after the pointer, before the attempt is recorded
], ids=["after publish", "after the alias move", "after the pointer write"])
def test_a_deployer_killed_mid_promotion_converges_to_one_promotion_on_redelivery(short_timeouts, monkeypatch,
                                                                                 cls, method):
    stack = short_timeouts
    stack.upload(*good(1))
    assert deliver(stack)["failed"] == []
    killed = kill_once(monkeypatch, cls, method)
    stack.upload(*good(2))
    # WHEN the deployer dies at this point
    with pytest.raises(Killed):
        deliver(stack)
    assert killed == [method]
    # AND S3's notification is delivered again once its visibility timeout, the lease and the
    # idempotency record of the dead run have expired
    time.sleep(2.1)  # the lease's expiry is kept in whole seconds
    assert deliver(stack)["failed"] == []
    # THEN version 2 is live exactly once: alias, the version it names, pointer and records agree
    live = stack.registry.get_live("tabular")
    assert live.live.version == 2 and stack.alias()["FunctionVersion"] == live.live.function_version
    assert stack.env_of(live.live.function_version)["LEPTON_MODEL_VERSION"] == "2"
    promoted = [a for a in stack.registry.list_deployments("tabular") if a.version == 2 and a.outcome == "promoted"]
    assert len(promoted) == 1
    assert stack.infer(stack.live_env(), ROWS)[1]["model_version"] == "2"


def answer_once(operation: str, status: int, code: str, message: str) -> list[str]:
    """The first `operation` call of the deployer's Lambda client gets this error from 'AWS'."""
    from botocore.awsrequest import AWSResponse

    seen: list[str] = []

    def fault(request, **_):
        seen.append(operation)
        if len(seen) > 1:
            return None  # let the call through to moto
        body = json.dumps({"__type": code, "Type": "User", "message": message}).encode()
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, _Raw(body))

    clients.client("lambda").meta.events.register_first(f"before-send.lambda.{operation}", fault)
    return seen


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def test_a_throttled_configuration_update_is_retried_and_the_promotion_completes(stack):
    seen = answer_once("UpdateFunctionConfiguration", 429, "TooManyRequestsException", "Rate exceeded")
    stack.upload(*good(1))
    assert deliver(stack, timeout_s=120)["failed"] == []
    assert seen == ["UpdateFunctionConfiguration"] * 2  # throttled once, retried once
    assert stack.registry.list_deployments("tabular")[0].outcome == "promoted"


def test_an_alias_revision_conflict_fails_the_attempt_and_the_retry_promotes(stack):
    stack.upload(*good(1))
    assert deliver(stack, timeout_s=120)["failed"] == []
    # GIVEN someone moves the alias between the deployer's read and its write (RevisionId mismatch)
    answer_once("UpdateAlias", 412, "PreconditionFailedException",
                "The Revision Id provided does not match the latest Revision Id")
    stack.upload(*good(2))
    worker = stack.worker(deployer)
    first = worker.run_once()
    # THEN the attempt failed with the reason, and the message goes back to the queue
    assert len(first["failed"]) == 1
    latest = stack.registry.list_deployments("tabular")[0]
    assert (latest.version, latest.outcome) == (2, "failed") and "changed while this deployment ran" in latest.reason
    # AND its redelivery promotes version 2
    assert worker.run_once()["failed"] == []
    assert stack.registry.get_live("tabular").live.version == 2


def test_a_message_that_always_fails_reaches_the_dead_letter_queue_with_every_attempt_recorded(stack, monkeypatch):
    def broken(self, current, environment, layers=None):
        raise FunctionUpdateFailed(f"{current.name}: ServiceException: Lambda is having a bad day")

    monkeypatch.setattr(LambdaFunctions, "set_environment", broken)
    stack.upload(*good(1))
    worker = stack.worker(deployer)
    for _ in range(3):  # the queue's maxReceiveCount
        assert len(worker.run_once()["failed"]) == 1
    assert worker.run_once() is None  # the fourth receive finds it gone: SQS moved it
    dead = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert len(dead) == 1 and "models/tabular/1/manifest.json" in unquote(dead[0]["Body"])
    failed = [a for a in stack.registry.list_deployments("tabular") if a.outcome == "failed"]
    assert len(failed) == 3 and all("Lambda is having a bad day" in a.reason for a in failed)
