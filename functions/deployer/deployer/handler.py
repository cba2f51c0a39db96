"""Lambda entry point: parse the event, run the pipeline per message, report partial failures.

An SQS batch (the deployment queue) reports failed messages in ``batchItemFailures`` so a bad
one is retried alone; a plain S3 event (``sam local invoke DeployerFunction -e
events/deployer/s3-put.json``) is processed directly.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from lepton_serving import clients
from lepton_serving.environment import check_at_cold_start, once_per_environment
from lepton_serving.errors import ConfigError, LeptonError

from deployer.config import DeployerConfig
from deployer.events import is_sqs_event, parse_body, parse_s3_event
from deployer.pipeline import Deployer, Services
from deployer.telemetry import logger, metrics

# Reporting an all-failed batch, rather than raising, keeps one code path for the worker and Lambda.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
#: The settings of an environment, validated once (Lambda's never changes).
settings_of = once_per_environment(DeployerConfig.from_env)


class DeployerHandler:
    """The deployer's entry point. ``env`` None reads the process environment at each invocation
    (Lambda's, fixed per execution environment); a mapping binds one configuration to this
    instance, which is how the local stack runs functions side by side in one process."""

    def __init__(self, env: Mapping[str, str] | None = None, aws: Callable[[str], Any] = clients.client,
                 lambda_api: Any = None):
        """``lambda_api`` answers the deployer's calls of a published version (the checks before
        traffic moves): Lambda's own client (None), or, where Lambda cannot run code (the local
        stack, tests), a stand-in with the same ``invoke`` (lepton/local/lambda_api.py)."""
        self.env = dict(env) if env is not None else None
        self.aws = aws
        self.lambda_api = lambda_api

    def with_environment(self, env: Mapping[str, str]) -> DeployerHandler:
        return DeployerHandler(env, self.aws, self.lambda_api)

    def with_lambda_api(self, lambda_api: Any) -> DeployerHandler:
        return DeployerHandler(self.env, self.aws, lambda_api)

    def deployer(self) -> Deployer:
        config = settings_of(os.environ if self.env is None else self.env)
        aws = self.aws
        return Deployer(config, Services(aws("s3"), aws("lambda"), aws("dynamodb"), aws("sqs"), aws("cloudwatch")),
                        lambda_api=self.lambda_api)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _handle(event, context, self)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def _handle(event: dict[str, Any], context: Any, handler: DeployerHandler) -> dict[str, Any]:
    try:
        deployer = handler.deployer()
    except ConfigError as exc:
        logger.error("deployer misconfigured; every message fails until fixed", extra={"reason": exc.message})
        if is_sqs_event(event):
            return {"batchItemFailures": [{"itemIdentifier": r.get("messageId", "")} for r in event["Records"]]}
        return {"error": exc.message}

    metrics.add_metric(name="Messages", unit=MetricUnit.Count, value=len(event.get("Records") or []))
    if is_sqs_event(event):
        def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
            return _process(deployer, record.body, context, record.message_id)

        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                         context=context)
    try:
        return {"results": [deployer.handle(upload, context) for upload in parse_s3_event(event)]}
    except LeptonError as exc:
        logger.error("event not processed", extra={"reason": exc.message})
        return {"error": exc.message}


def _process(deployer: Deployer, body: str, context: Any, message_id: str) -> list[dict[str, Any]]:
    try:
        return [deployer.handle(message, context) for message in parse_body(body)]
    except LeptonError as exc:
        # Expected failures (bad message, transient AWS error): a reason, no trace; SQS retries it.
        logger.error("message failed; it will be retried", extra={"message_id": message_id, "reason": exc.message})
        raise
    except Exception:
        logger.exception("unexpected error; the message will be retried", extra={"message_id": message_id})
        raise


lambda_handler = DeployerHandler()
# Every message then fails with the reason, so SQS keeps it until the deployer is fixed.
check_at_cold_start(settings_of, os.environ, logger, "the deployer")
