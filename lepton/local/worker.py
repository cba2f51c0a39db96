"""The local stand-in for Lambda's SQS event source mapping: queue -> deployer, in-process.

moto delivers S3 notifications to SQS but cannot run Lambda code, so this thread long-polls
the deploy queue, hands each batch to the deployer's handler in the event shape Lambda uses,
and deletes only what the handler did not report in ``batchItemFailures``. Failed messages
become visible again after the queue's visibility timeout and, past maxReceiveCount, moto
moves them to the dead-letter queue, as SQS does.

Each receive waits up to 20 s (SQS's longest long poll; moto honours it, blocking on the
queue until a message arrives), so an idle stack makes one call every 20 s, and an upload is
still handed over as soon as its notification lands.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from .context import LambdaContext

log = logging.getLogger("lepton.local.worker")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """ReceiveMessage results -> the event Lambda's SQS event source mapping delivers."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": dict(m.get("Attributes", {})),
        "messageAttributes": {name: _lambda_attribute(value) for name, value in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # SQS API: StringValue/BinaryValue/DataType; Lambda events: camelCase and the list fields.
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value.get("DataType", "String"),
    }


LONG_POLL_SECONDS = 20  # the most SQS allows
RETRY_SECONDS = 1.0  # after a failed receive (the local AWS restarting)


class DeployWorker:
    """A daemon thread: long-poll ``queue_url``, call ``handler`` per batch, delete what succeeded."""

    def __init__(self, queue_url: str, handler: Handler, sqs_client: Any, poll_seconds: float = LONG_POLL_SECONDS, *,
                 batch_size: int = 5, function_name: str = "lepton-local-DeployerFunction",
                 memory_mb: int = 2048, timeout_s: float = 120.0, retry_delay_seconds: int | None = None):
        self.queue_url = queue_url
        self.handler = handler
        self.sqs = sqs_client
        self.poll_seconds = poll_seconds
        self.batch_size = max(1, min(10, batch_size))
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        # None: failed messages wait out the queue's visibility timeout, as with Lambda.
        self.retry_delay_seconds = retry_delay_seconds
        self.batches = 0
        self.failures = 0
        self._stop = threading.Event()
        self._busy = threading.Lock()  # held while a batch is handled
        self._thread: threading.Thread | None = None
        attributes = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.region = self.queue_arn.split(":")[3]

    # -- thread ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread and self._thread.is_alive() and not self._stop.is_set():
            return
        self._stop = threading.Event()  # its own: a stopped thread still in a receive stays stopped
        self._thread = threading.Thread(target=self._loop, args=(self._stop,), name="lepton-deploy-worker",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch being handled, if any. A receive still waiting is not waited
        for: whatever it gets once stopped is made visible again, not handled."""
        self._stop.set()
        if self._busy.acquire(timeout=timeout):
            self._busy.release()
        self._thread = None

    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once(stop=stop)
            except Exception:  # a moto hiccup must not kill the worker; say so and poll again
                if stop.is_set():
                    return
                log.exception("deploy worker: polling failed")
                stop.wait(RETRY_SECONDS)

    # -- one batch ------------------------------------------------------------------------------
    def run_once(self, wait_seconds: float | None = None, stop: threading.Event | None = None) -> dict[str, Any] | None:
        """Receive one batch and process it; None when the queue had nothing (or ``stop`` was
        set while it waited)."""
        wait = self.poll_seconds if wait_seconds is None else wait_seconds
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=max(0, min(20, int(wait))),
            AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return None
        with self._busy:
            if stop is not None and stop.is_set():  # received while stopping: leave it to the next worker
                for m in messages:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=0)
                return None
            self.batches += 1
            event = lambda_sqs_event(messages, self.queue_arn, self.region)
            failed = self._invoke(event)
            self._settle(messages, failed)
        return {"received": len(messages), "failed": sorted(failed)}

    def _invoke(self, event: dict[str, Any]) -> set[str]:
        context = LambdaContext(self.function_name, self.memory_mb, self.timeout_s, region=self.region,
                                aws_request_id=str(uuid.uuid4()))
        ids = {r["messageId"] for r in event["Records"]}
        try:
            result = self.handler(event, context) or {}
        except Exception:
            # Lambda treats a raised error as "the whole batch failed".
            log.exception("deployer raised; all %d message(s) will be retried", len(ids))
            return ids
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if failures is None:
            return set()
        reported = {f.get("itemIdentifier", "") for f in failures}
        # An empty or unknown identifier fails the whole batch, as Lambda does.
        return ids if reported - ids or "" in reported else reported

    def _settle(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            result = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            for error in result.get("Failed", []):
                log.warning("could not delete message %s: %s", error.get("Id"), error.get("Message"))
        if failed:
            self.failures += len(failed)
            log.warning("deployer reported %d failed message(s); they will be redelivered", len(failed))
            if self.retry_delay_seconds is not None:
                for m in messages:
                    if m["MessageId"] in failed:
                        self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                           VisibilityTimeout=self.retry_delay_seconds)
