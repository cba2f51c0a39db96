"""The one timestamp format of deployment records: UTC, microseconds, fixed width.

Fixed width makes the text sort as the time does, which DynamoDB range keys rely on.
"""
from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FORMAT)


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def seconds_until(text: str) -> float:
    return (parse_iso(text) - datetime.now(UTC)).total_seconds()
