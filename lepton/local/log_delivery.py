"""What Lambda does with a function's log lines, for the ones a subscription filter wants:
put them into the function's CloudWatch log group, here the local one (moto).

Only capture records go (lepton_serving/capture.py: each line starts with its MARKER), as
only they match the template's filter pattern; moto does not evaluate filter patterns. The
local stack runs it in its capture agent's process (capture_agent.py); tests run it beside moto
in their own. moto
then runs the rest of the path for real: the subscription filter hands each put to the model's
Firehose stream, which writes it to the capture bucket (capture_setup.py). Lines are gathered
for a second and put in one call per function (`Gatherer`), as Lambda batches its log delivery.
moto keeps every log event in memory and never applies retention, so each function's events go
to a stream per minute and the minute's stream is deleted once the next one is in use: its
events reached S3 when they were put.
"""
from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lepton_serving.capture import MARKER

from .gathering import Gatherer

log = logging.getLogger("lepton.logs")

FLUSH_SECONDS = 1.0
_FUNCTION = '"function":"'
#: PutLogEvents takes at most 10,000 events and 1 MB a call.
_MAX_EVENTS, _MAX_BYTES = 10_000, 900_000


class LogDelivery:
    """Capture lines in (`feed`, from any thread), PutLogEvents calls out, on a background thread."""

    def __init__(self, logs: Any, flush_seconds: float = FLUSH_SECONDS, clock: Callable[[], float] = time.time):
        self.logs = logs
        self.clock = clock
        self.lines: collections.deque[tuple[int, str]] = collections.deque()  # appends from any thread
        self._streams: dict[str, str] = {}  # log group -> the stream in use
        self._rounds = Gatherer(self.flush, flush_seconds, "lepton-logs")
        self.delivered = 0

    def feed(self, line: str) -> None:
        if line.startswith(MARKER):
            self.lines.append((int(self.clock() * 1000), line))
            self._rounds.arrived()

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()
        self.flush()

    def flush(self) -> int:
        """Put what was fed into the functions' log groups now; returns the number of events put."""
        by_group: dict[str, list[dict[str, Any]]] = {}
        while self.lines:
            at, line = self.lines.popleft()
            by_group.setdefault(_log_group(line), []).append({"timestamp": at, "message": line})
        put = 0
        for group, events in by_group.items():
            for batch in _batches(events):
                try:
                    self.logs.put_log_events(logGroupName=group, logStreamName=self._stream(group), logEvents=batch)
                    put += len(batch)
                except Exception as exc:  # the local AWS is stopping, or no such group: best effort, as logs are
                    log.debug("capture records not delivered to %s: %s", group, exc)
        self.delivered += put
        return put

    def _stream(self, group: str) -> str:
        """This minute's stream of ``group``, made on first use; the previous minute's is deleted."""
        name = f"{datetime.now(UTC):%Y/%m/%d/%H%M}/[local]captures"
        previous = self._streams.get(group)
        if previous != name:
            try:
                self.logs.create_log_stream(logGroupName=group, logStreamName=name)
            except self.logs.exceptions.ResourceAlreadyExistsException:
                pass
            self._streams[group] = name
            if previous is not None:
                try:
                    self.logs.delete_log_stream(logGroupName=group, logStreamName=previous)
                except Exception as exc:  # already gone: nothing held in memory
                    log.debug("old capture stream %s not deleted: %s", previous, exc)
        return name


def _log_group(line: str) -> str:
    """The function a record is from (its "function" field), without parsing the line."""
    at = line.find(_FUNCTION)
    if at < 0:
        return "/aws/lambda/unknown"
    start = at + len(_FUNCTION)
    return f"/aws/lambda/{line[start:line.find('\"', start)]}"


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = [[]]
    size = 0
    for event in events:
        cost = len(event["message"]) + 26  # what PutLogEvents counts per event
        if batches[-1] and (len(batches[-1]) >= _MAX_EVENTS or size + cost > _MAX_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += cost
    return [b for b in batches if b]
