"""Lambda's REPORT line: what one invocation took, as Lambda itself measured it.

Every invocation ends its log with one. Invoke with ``LogType=Tail`` returns the last 4 KB of
the invocation's log (base64, ``LogResult``), so the caller reads the figures directly:

    REPORT RequestId: 8f5a...\tDuration: 1.93 ms\tBilled Duration: 2 ms\tMemory Size: 1024 MB\t
    Max Memory Used: 112 MB\tInit Duration: 241.71 ms

``Init Duration`` is there on the first invocation of an execution environment (a cold start),
``Restore Duration`` instead when it was restored from a SnapStart snapshot; traced invocations
add an ``XRAY TraceId`` line. A function whose log format is JSON writes the same figures as a
``platform.report`` record. Both are read here; fields this module does not know are ignored.

The local stack writes the same line from its own measurements (lepton/local/lambda_api.py), and
says so in a ``LEPTON-LOCAL`` line before it, so the deployer reads one format everywhere and
each figure still says where it came from (``measured_by``).
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

#: The line the local stack writes before its REPORT line: who measured what (JSON after the tag).
LOCAL_TAG = "LEPTON-LOCAL"
LAMBDA = "Lambda's REPORT line"

# Longest names first, so "Duration" never matches inside "Billed Duration" or "Init Duration".
_FIELD = re.compile(r"(?:^|\s)(?P<key>Billed Restore Duration|Restore Duration|Billed Duration|Init Duration|"
                    r"Max Memory Used|Memory Size|Duration|RequestId):\s*(?P<value>[^\s]+)")
_JSON_METRICS = {"durationMs": "Duration", "billedDurationMs": "Billed Duration", "memorySizeMB": "Memory Size",
                 "maxMemoryUsedMB": "Max Memory Used", "initDurationMs": "Init Duration",
                 "restoreDurationMs": "Restore Duration"}


class ReportLineError(ValueError):
    """A REPORT line without the figures every invocation has."""


@dataclass(frozen=True)
class InvokeReport:
    """The figures of one invocation."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int  # configured
    max_memory_mb: int | None  # the execution environment's peak so far
    init_ms: float | None = None  # only on a cold start
    restore_ms: float | None = None  # only on a SnapStart restore
    measured_by: dict[str, str] | None = None  # figure -> who measured it (None: Lambda, every figure)

    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None

    def source(self, figure: str) -> str:
        """Where one figure ("duration", "init", "memory") came from, in words."""
        return (self.measured_by or {}).get(figure, LAMBDA)

    def line(self) -> str:
        """The REPORT line as Lambda writes it (text log format)."""
        parts = [f"REPORT RequestId: {self.request_id}", f"Duration: {self.duration_ms:.2f} ms",
                 f"Billed Duration: {self.billed_ms} ms", f"Memory Size: {self.memory_mb} MB"]
        if self.max_memory_mb is not None:
            parts.append(f"Max Memory Used: {self.max_memory_mb} MB")
        if self.init_ms is not None:
            parts.append(f"Init Duration: {self.init_ms:.2f} ms")
        if self.restore_ms is not None:
            parts.append(f"Restore Duration: {self.restore_ms:.2f} ms")
        return "\t".join(parts) + "\t"


def from_log_result(log_result: str | None) -> InvokeReport | None:
    """The report in an Invoke response's ``LogResult`` (base64 of the log's last 4 KB), or None."""
    if not log_result:
        return None
    try:
        text = base64.b64decode(log_result).decode("utf-8", "replace")
    except ValueError as exc:
        raise ReportLineError(f"LogResult is not base64: {exc}") from exc
    return from_log(text)


def from_log(text: str) -> InvokeReport | None:
    """The last REPORT line (or ``platform.report`` record) in a log tail, or None if it has none."""
    local: dict[str, str] | None = None
    found: InvokeReport | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(LOCAL_TAG):
            local = _local_sources(line[len(LOCAL_TAG):])
        elif line.startswith("REPORT "):
            found = _with_sources(parse_line(line), local)
        elif line.startswith("{") and "platform.report" in line:
            found = _with_sources(_parse_json(line), local) or found
    return found


def parse_line(line: str) -> InvokeReport:
    """One text REPORT line."""
    fields = {m.group("key"): m.group("value") for m in _FIELD.finditer(line.removeprefix("REPORT "))}
    return _report(fields, line)


def _parse_json(line: str) -> InvokeReport | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("type") != "platform.report":
        return None
    body = record.get("record") if isinstance(record.get("record"), dict) else {}
    metrics = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}
    fields = {name: str(metrics[key]) for key, name in _JSON_METRICS.items() if key in metrics}
    fields["RequestId"] = str(body.get("requestId", ""))
    return _report(fields, line)


def _report(fields: dict[str, str], line: str) -> InvokeReport:
    try:
        return InvokeReport(
            request_id=fields.get("RequestId", ""),
            duration_ms=float(fields["Duration"]),
            billed_ms=int(float(fields["Billed Duration"])),
            memory_mb=int(float(fields["Memory Size"])),
            max_memory_mb=int(float(fields["Max Memory Used"])) if "Max Memory Used" in fields else None,
            init_ms=float(fields["Init Duration"]) if "Init Duration" in fields else None,
            restore_ms=float(fields["Restore Duration"]) if "Restore Duration" in fields else None,
        )
    except KeyError as exc:
        raise ReportLineError(f"REPORT line without {exc.args[0]}: {line[:200]}") from exc
    except ValueError as exc:
        raise ReportLineError(f"REPORT line with a figure that is not a number ({exc}): {line[:200]}") from exc


def _local_sources(rest: str) -> dict[str, str]:
    try:
        value: Any = json.loads(rest)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _with_sources(report: InvokeReport | None, sources: dict[str, str] | None) -> InvokeReport | None:
    if report is None or not sources:
        return report
    return InvokeReport(report.request_id, report.duration_ms, report.billed_ms, report.memory_mb,
                        report.max_memory_mb, report.init_ms, report.restore_ms, sources)


def local_line(sources: dict[str, str]) -> str:
    """The line the local stack writes before its REPORT line."""
    return f"{LOCAL_TAG} {json.dumps(sources, sort_keys=True)}"
