"""Each upload is processed once, however often S3 and SQS deliver it.

Powertools idempotency over the deployments table rather than a hand-written conditional
write: it already does what the equivalent needs, and we would otherwise re-implement it -
an in-progress record that expires with the invocation (so a crashed deployer does not block
the retry), deleting the record when processing raises (so SQS retries really retry), and
replaying the stored result for duplicates. The key is (bucket, key, object version id or
etag): re-uploading the same key with new bytes is a new upload.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

STATIC_PK = "idempotency#deployer"


def run_once(dynamodb: Any, table: str, ttl_seconds: int, context: Any, identity: dict[str, str],
             work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``work()`` unless ``identity`` was already processed; then its stored result, marked duplicate."""
    store = DynamoDBPersistenceLayer(table_name=table, key_attr="pk", sort_key_attr="sk", static_pk_value=STATIC_PK,
                                     boto3_client=dynamodb)
    config = IdempotencyConfig(expires_after_seconds=ttl_seconds, response_hook=_mark_duplicate)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    def process_upload(upload: dict[str, str]) -> dict[str, Any]:
        return work()

    once = idempotent_function(process_upload, data_keyword_argument="upload", persistence_store=store,
                               config=config, key_prefix="deployer.upload")
    return once(upload=identity)


def _mark_duplicate(response: Any, record: Any) -> Any:
    if isinstance(response, dict):
        return {**response, "duplicate": True}
    return response
