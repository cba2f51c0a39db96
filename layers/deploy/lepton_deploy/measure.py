"""Measuring a published version, side by side with the live one, from Lambda's REPORT lines.

Every call the deployer makes to a version goes through Invoke with ``LogType=Tail``; the
`Meter` keeps the REPORT line of each (report_line.py). A newly published version's first
invocation is always cold, so the meter holds its init duration after the pre-traffic check,
whichever check made that call. The warm figures come from `measure`: the same requests sent
to the live version and the candidate in turn (live first on even requests, candidate first
on odd ones), so both meet the same moment of a shared machine, in rounds of ``requests``
each. A round whose candidate p99 is above the limit is measured again, up to ``rounds``
times: one unlucky round is noise, every round is a regression.

Locally the same lines come from the local stack's invoker (lepton/local/lambda_api.py), built
from its own measurements, so this module reads one format everywhere.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lepton_serving.manifest import Manifest

from .report_line import InvokeReport, ReportLineError, from_log_result

#: (function name, qualifier, API Gateway event) -> the handler's response.
Send = Callable[[str, str, dict[str, Any]], dict[str, Any]]


class Meter:
    """The REPORT line of every invocation a deployment made, by function and version."""

    def __init__(self) -> None:
        self._reports: dict[tuple[str, str], list[InvokeReport]] = {}
        self.unreadable = 0

    def record(self, function_name: str, qualifier: str, log_result: str | None) -> InvokeReport | None:
        """Keep the report in an Invoke answer's ``LogResult``; None when it holds none."""
        try:
            report = from_log_result(log_result)
        except ReportLineError:
            self.unreadable += 1
            return None
        if report is not None:
            self._reports.setdefault((function_name, qualifier), []).append(report)
        return report

    def reports(self, function_name: str, qualifier: str) -> list[InvokeReport]:
        return list(self._reports.get((function_name, qualifier), []))

    def last(self, function_name: str, qualifier: str) -> InvokeReport | None:
        found = self._reports.get((function_name, qualifier))
        return found[-1] if found else None

    def cold(self, function_name: str, qualifier: str) -> InvokeReport | None:
        """The first cold invocation seen (init or restore duration), if any."""
        return next((r for r in self._reports.get((function_name, qualifier), []) if r.cold), None)

    def peak_memory(self, function_name: str, qualifier: str) -> int | None:
        used = [r.max_memory_mb for r in self._reports.get((function_name, qualifier), [])
                if r.max_memory_mb is not None]
        return max(used) if used else None


class MeasureError(Exception):
    """The version could not be measured: the message says why (no REPORT lines, an error answer)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile, interpolated between ranks (numpy's default), of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Side:
    """One version's warm invocations in this measurement, round by round."""

    version: int
    qualifier: str
    rounds: list[list[InvokeReport]] = field(default_factory=list)

    def durations(self, index: int | None = None) -> list[float]:
        chosen = self.rounds if index is None else [self.rounds[index]]
        return [r.duration_ms for one in chosen for r in one]

    def p(self, q: float, index: int | None = None) -> float:
        return percentile(self.durations(index), q)

    @property
    def requests(self) -> int:
        return sum(len(one) for one in self.rounds)

    @property
    def billed_mean(self) -> float:
        billed = [r.billed_ms for one in self.rounds for r in one]
        return sum(billed) / len(billed)

    @property
    def peak_memory(self) -> int | None:
        used = [r.max_memory_mb for one in self.rounds for r in one if r.max_memory_mb is not None]
        return max(used) if used else None


@dataclass(frozen=True)
class Workload:
    """The requests every round sends, in order (cycled): V2 infer bodies, and where they came from."""

    bodies: tuple[dict[str, Any], ...]
    golden: int
    captured: int

    @classmethod
    def of(cls, manifest: Manifest, captured: Sequence[dict[str, Any]] = ()) -> Workload:
        """The manifest's golden examples as V2 infer bodies, then ``captured`` request bodies."""
        bodies = [{"inputs": example.request or [_tensor(spec.name, spec.datatype, example.inputs[spec.name])
                                                 for spec in manifest.inputs if spec.name in example.inputs]}
                  for example in manifest.golden]
        return cls((*bodies, *captured), len(bodies), len(captured))

    def describe(self) -> str:
        parts = [f"{self.golden} golden example{'s' if self.golden != 1 else ''}"]
        if self.captured:
            parts.append(f"{self.captured} captured request{'s' if self.captured != 1 else ''}")
        return " and ".join(parts)


def measure(send: Send, meter: Meter, function_name: str, event_for: Callable[[dict[str, Any], int], dict[str, Any]],
            workload: Workload, sides: Sequence[Side], requests: int, rounds: int,
            again: Callable[[Sequence[Side]], bool], time_left: Callable[[], float] | None = None) -> int:
    """Run rounds of ``requests`` requests per side, interleaved, while ``again(sides)`` says the
    last round must be confirmed, at most ``rounds``; returns how many ran. ``event_for(body, i)``
    builds the i-th invocation's event. Stops early (never before one round) when ``time_left``
    says a further round would not fit."""
    if not workload.bodies:
        raise MeasureError("no requests to measure with")
    started = _now()
    done = 0
    while done < rounds:
        for side in sides:
            side.rounds.append([])
        for i in range(requests):
            event = event_for(workload.bodies[i % len(workload.bodies)], i)
            for side in (sides if i % 2 == 0 else list(reversed(sides))):
                side.rounds[-1].append(_invoke(send, meter, function_name, side, event, i))
        done += 1
        if not again(sides):
            break
        per_round = (_now() - started) / done
        if time_left is not None and time_left() < 2 * per_round:
            break
    return done


def _invoke(send: Send, meter: Meter, function_name: str, side: Side, event: dict[str, Any], i: int) -> InvokeReport:
    seen = len(meter.reports(function_name, side.qualifier))
    response = send(function_name, side.qualifier, event)
    status = int(response.get("statusCode", 0)) if isinstance(response, dict) else 0
    if status != 200:
        raise MeasureError(f"version {side.version} (function version {side.qualifier}) answered measurement "
                           f"request {i} with {status or 'no status'}")
    reports = meter.reports(function_name, side.qualifier)
    if len(reports) == seen:
        raise MeasureError(f"the invocation of {function_name}:{side.qualifier} returned no REPORT line "
                           "(Invoke with LogType=Tail), so it cannot be measured")
    return reports[-1]


def _tensor(name: str, datatype: str, data: Any) -> dict[str, Any]:
    """A V2 input tensor from nested lists (shape read from the nesting)."""
    shape: list[int] = []
    level = data
    while isinstance(level, list):
        shape.append(len(level))
        level = level[0] if level else None
    flat: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        else:
            flat.append(node)

    walk(data)
    return {"name": name, "datatype": datatype, "shape": shape, "data": flat}


def _now() -> float:
    import time

    return time.monotonic()
