"""What arrives: S3 notifications (inside SQS bodies, or as a plain S3 event) and canary checks.

S3 URL-encodes object keys in notifications (a space is '+', moto also encodes '/'):
every key is decoded with unquote_plus before anything looks at it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote_plus

from lepton_deploy.errors import BadMessage

CANARY_CHECK = "canary-check"


@dataclass(frozen=True)
class Upload:
    """One object created in the model bucket."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str = ""
    event_name: str = ""
    event_time: str = ""

    def identity(self) -> dict[str, str]:
        """What makes two deliveries the same upload: the object's version id, else its etag."""
        return {"bucket": self.bucket, "key": self.key, "object": self.version_id or self.etag}

    def source(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v and k in ("bucket", "key", "etag", "version_id")}


@dataclass(frozen=True)
class CanaryCheck:
    """Sent by the deployer to itself, delayed by the bake time: check, then promote or roll back."""

    model: str
    version: int

    def to_body(self) -> str:
        return json.dumps({"lepton": CANARY_CHECK, "model": self.model, "version": self.version})


Message = Upload | CanaryCheck


def is_sqs_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records[0], dict) and records[0].get("eventSource") == "aws:sqs"


def parse_body(body: str) -> list[Message]:
    """One SQS message body -> what to do. An s3:TestEvent yields nothing."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"message body is not JSON: {str(body)[:80]!r}") from exc
    if not isinstance(doc, dict):
        raise BadMessage("message body is not a JSON object")
    if doc.get("Event") == "s3:TestEvent":
        return []
    if doc.get("lepton") == CANARY_CHECK:
        try:
            return [CanaryCheck(str(doc["model"]), int(doc["version"]))]
        except (KeyError, TypeError, ValueError) as exc:
            raise BadMessage(f"canary check needs 'model' and an integer 'version': {doc}") from exc
    if "Records" in doc:
        return list(parse_s3_event(doc))
    raise BadMessage(f"message is neither an S3 notification nor a deployer command (keys: {sorted(doc)[:6]})")


def parse_s3_event(event: dict[str, Any]) -> list[Upload]:
    records = event.get("Records")
    if not isinstance(records, list):
        raise BadMessage("an S3 event needs a 'Records' list")
    return [_upload(r) for r in records if str(r.get("eventName", "")).startswith("ObjectCreated")]


def _upload(record: dict[str, Any]) -> Upload:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return Upload(
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"])),
            etag=str(obj.get("eTag", "")).strip('"'),
            version_id=str(obj.get("versionId", "") or ""),
            event_name=str(record.get("eventName", "")),
            event_time=str(record.get("eventTime", "")),
        )
    except (KeyError, TypeError) as exc:
        raise BadMessage(f"S3 record without s3.bucket.name / s3.object.key: {str(record)[:120]}") from exc
