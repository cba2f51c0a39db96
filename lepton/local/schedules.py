"""EventBridge schedules, locally: each template function with a ``Schedule`` event runs at its rate.

In AWS, an EventBridge rule invokes the function (the drift function, daily by default) with a
"Scheduled Event". Here one thread does the same for every scheduled function: it sleeps until
the next one is due, invokes it through the stack (the version its `live` alias names, with that
version's configuration) with the same event, and logs the outcome. As with EventBridge, the
first run is one period after the schedule starts. ``rate(...)`` expressions are followed;
``cron(...)`` ones are not run locally, and the stack says so at start.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .template import FunctionSpec

log = logging.getLogger("lepton.local.stack")

_RATE = re.compile(r"rate\(\s*([1-9][0-9]*)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """The period of a ``rate(...)`` schedule expression in seconds; None for anything else."""
    match = _RATE.fullmatch(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _SECONDS[match.group(2).rstrip("s")]


def scheduled_event(rule: str, at: datetime) -> dict[str, Any]:
    """The event an EventBridge rule sends its target."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule}"], "detail": {}}


@dataclass(frozen=True)
class Job:
    logical_id: str
    event_name: str
    every_s: float


def jobs_of(specs: dict[str, FunctionSpec], resolve: Callable[[Any], str] = str) -> list[Job]:
    """Every ``Schedule`` event of the template's functions with a rate this stack can follow.
    ``resolve`` turns an expression the template computes (``!Ref DriftSchedule``) into its text."""
    found = []
    for logical_id, spec in specs.items():
        for event_name, event in (spec.properties.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "Schedule":
                continue
            expression = resolve((event.get("Properties") or {}).get("Schedule", ""))
            every = rate_seconds(expression)
            if every is None:
                log.warning("%s: schedule %r is not run locally (only rate(...) schedules are)", logical_id, expression)
                continue
            found.append(Job(logical_id, event_name, every))
    return found


class Schedules:
    """One thread that invokes each job every ``every_s`` seconds, the first one period after start."""

    def __init__(self, jobs: list[Job], invoke: Callable[[str, dict[str, Any]], Any],
                 clock: Callable[[], float] = time.monotonic):
        self.jobs = jobs
        self.invoke = invoke
        self.clock = clock
        self.runs: dict[str, int] = {job.logical_id: 0 for job in jobs}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.jobs:
            return
        for job in self.jobs:
            log.info("%s runs every %s s, as its %s schedule says", job.logical_id, job.every_s, job.event_name)
        self._thread = threading.Thread(target=self._run, name="lepton-schedules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        due = {job: self.clock() + job.every_s for job in self.jobs}
        while not self._stop.is_set():
            job = min(due, key=due.__getitem__)
            if self._stop.wait(max(0.0, due[job] - self.clock())):
                return
            self.run(job)
            due[job] = self.clock() + job.every_s

    def run(self, job: Job) -> Any:
        """One scheduled invocation, as EventBridge makes it; a failure is logged, never raised."""
        event = scheduled_event(f"{job.logical_id}-{job.event_name}", datetime.now(UTC))
        self.runs[job.logical_id] = self.runs.get(job.logical_id, 0) + 1
        try:
            result = self.invoke(job.logical_id, event)
        except Exception as exc:  # noqa: BLE001 - the function's own failure; EventBridge would retry
            log.warning("%s (scheduled) failed: %s", job.logical_id, exc)
            return None
        log.info("%s (scheduled): %s", job.logical_id, _summary(result))
        return result


def _summary(result: Any) -> str:
    checked = result.get("checked") if isinstance(result, dict) else None
    if isinstance(checked, list):
        return "; ".join(f"{c.get('model')} {str(c.get('level', '')).replace('_', ' ')}" for c in checked) or "done"
    return "done"
