"""What Lambda and CloudWatch do with the functions' EMF log lines, done locally.

In AWS, a line a function prints in the Embedded Metric Format becomes CloudWatch metrics.
Locally the functions print the same lines; `EmfTee` sits on their stdout, passes every line
through to the log file, and hands EMF lines to `EmfForwarder`, which puts them into the local
CloudWatch (moto) on a background thread. The canary check then reads real request and 5xx
counts, by function version, exactly as it reads them in AWS.
"""
from __future__ import annotations

import io
import json
import logging
import queue
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

log = logging.getLogger("lepton.emf")

_MARKER = '{"_aws"'
_BATCH = 500  # PutMetricData takes up to 1,000 values a call


def metric_data(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """One EMF document -> PutMetricData entries, by namespace."""
    meta = doc.get("_aws") or {}
    stamp = datetime.fromtimestamp(int(meta.get("Timestamp", 0)) / 1000.0, UTC)
    out: dict[str, list[dict[str, Any]]] = {}
    for directive in meta.get("CloudWatchMetrics") or []:
        namespace = directive.get("Namespace", "")
        for dimension_set in directive.get("Dimensions") or [[]]:
            dimensions = [{"Name": name, "Value": str(doc[name])} for name in dimension_set if name in doc]
            for metric in directive.get("Metrics") or []:
                values = doc.get(metric["Name"])
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        out.setdefault(namespace, []).append({
                            "MetricName": metric["Name"], "Dimensions": dimensions, "Value": float(value),
                            "Unit": metric.get("Unit", "None"), "Timestamp": stamp})
    return out


class EmfForwarder:
    def __init__(self, cloudwatch: Any):
        self.cloudwatch = cloudwatch
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def feed(self, line: str) -> None:
        if line.startswith(_MARKER):
            self.lines.put(line)

    def flush(self) -> int:
        """Put every queued line into CloudWatch now; returns the number of values put."""
        pending: dict[str, list[dict[str, Any]]] = {}
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self._collect(line, pending)
        return self._put(pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lepton-emf", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.lines.put(None)
        if self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            line = self.lines.get()  # blocks: no polling while idle
            if line is None:
                return
            pending: dict[str, list[dict[str, Any]]] = {}
            self._collect(line, pending)
            while len(pending) < _BATCH:  # take what else is already queued, in one call
                try:
                    more = self.lines.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._put(pending)
                    return
                self._collect(more, pending)
            self._put(pending)

    @staticmethod
    def _collect(line: str, pending: dict[str, list[dict[str, Any]]]) -> None:
        try:
            for namespace, data in metric_data(json.loads(line)).items():
                pending.setdefault(namespace, []).extend(data)
        except (ValueError, KeyError, TypeError):
            pass  # not EMF after all: it stays in the log file, as CloudWatch would ignore it

    def _put(self, pending: dict[str, list[dict[str, Any]]]) -> int:
        put = 0
        for namespace, data in pending.items():
            for start in range(0, len(data), _BATCH):
                try:
                    self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + _BATCH])
                    put += len(data[start:start + _BATCH])
                except Exception as exc:  # the local AWS is stopping: metrics are best effort, as in AWS
                    log.debug("EMF lines not forwarded: %s", exc)
        return put


class EmfTee(io.TextIOBase):
    """A stdout that writes through to ``sink`` and feeds complete EMF lines to ``forwarder``."""

    def __init__(self, sink: TextIO, forwarder: EmfForwarder):
        self.sink = sink
        self.forwarder = forwarder
        self._partial = ""

    def write(self, text: str) -> int:
        self.sink.write(text)
        if _MARKER in text or self._partial:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self.forwarder.feed(line)
        return len(text)

    def flush(self) -> None:
        self.sink.flush()

    def writable(self) -> bool:
        return True
