"""What Lambda and CloudWatch do with the functions' EMF log lines, done locally.

In AWS, a line a function prints in the Embedded Metric Format becomes CloudWatch metrics.
Locally the functions print the same lines; `EmfTee` sits on their stdout, passes every line
through to the log file, and hands EMF lines to `EmfForwarder`, which puts them into the local
CloudWatch (moto) on a background thread. The canary check then reads real request and 5xx
counts, by function version, exactly as it reads them in AWS. (`lepton up` writes its
functions' output through function_log.py, which feeds the forwarder in a process of its own,
emf_agent.py.)
"""
from __future__ import annotations

import io
import logging
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from .gathering import Gatherer

log = logging.getLogger("lepton.local.emf")

EMF_MARKER = '{"_aws"'
_BATCH = 500  # PutMetricData takes up to 1,000 values a call
FLUSH_SECONDS = 1.0  # how long lines are gathered into one call


class EmfForwarder:
    """EMF lines in, PutMetricData calls out, on a thread that blocks while no line comes.

    Each line is summed as it is fed, on the caller's thread, into one statistic set per metric,
    dimensions and second (PutMetricData's StatisticValues); the thread puts what a second
    gathered in one call. Under load that is one small call a second instead of one value per
    request, with no burst of parsing that would hold the GIL against the requests, and the
    local CloudWatch keeps one datum per metric and second, whose Sum the canary reads.
    """

    def __init__(self, cloudwatch: Any, flush_seconds: float = FLUSH_SECONDS):
        self.cloudwatch = cloudwatch
        self.flush_seconds = flush_seconds
        self._pending = Pending()
        self._lock = threading.Lock()
        self._rounds = Gatherer(self.flush, flush_seconds, "lepton-emf")

    def feed(self, line: str) -> None:
        if line.startswith(EMF_MARKER):
            with self._lock:
                self._pending.add(line)
            self._rounds.arrived()

    def flush(self) -> int:
        """Put what was fed into CloudWatch now; returns the number of statistic sets put."""
        with self._lock:
            pending, self._pending = self._pending, Pending()
        return self._put(pending)

    def start(self) -> None:
        self._rounds.start()

    def stop(self) -> None:
        self._rounds.stop()
        self.flush()

    def _put(self, pending: Pending) -> int:
        put = 0
        for namespace, data in pending.metric_data().items():
            for start in range(0, len(data), _BATCH):
                try:
                    self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + _BATCH])
                    put += len(data[start:start + _BATCH])
                except Exception as exc:  # the local AWS is stopping: metrics are best effort, as in AWS
                    log.debug("EMF lines not forwarded: %s", exc)
        return put


class Plan:
    """What one EMF directive list asks for, worked out once per distinct list: the dimension
    fields it reads and, per metric it puts, its namespace, name, unit and dimension names."""

    def __init__(self, directives: list[dict[str, Any]]):
        self.fields: list[str] = []  # every dimension field, in order
        self.metrics: list[str] = []  # every metric field read, once each
        self.entries: list[tuple[str, str, str, tuple[str, ...], int]] = []
        for directive in directives:
            namespace = directive.get("Namespace", "")
            for dimension_set in directive.get("Dimensions") or [[]]:
                names = tuple(dimension_set)
                self.fields += [n for n in names if n not in self.fields]
                for metric in directive.get("Metrics") or []:
                    if metric["Name"] not in self.metrics:
                        self.metrics.append(metric["Name"])
                    self.entries.append((namespace, metric["Name"], metric.get("Unit", "None"), names,
                                         self.metrics.index(metric["Name"])))


class Pending:
    """EMF values summed by metric, dimensions and second: one statistic set each."""

    _plans: dict[bytes, Plan] = {}  # shared: the same few directive lists come again and again

    def __init__(self) -> None:
        # (plan key, dimension values, second) -> per metric field: [count, sum, min, max] or None
        self.groups: dict[tuple[Any, ...], list[list[float] | None]] = {}

    def add(self, line: str) -> None:
        try:
            doc = orjson.loads(line)
            meta = doc["_aws"]
            key = orjson.dumps(meta["CloudWatchMetrics"])
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = Plan(meta["CloudWatchMetrics"])
            group = (key, tuple(None if (v := doc.get(f)) is None else str(v) for f in plan.fields),
                     int(meta.get("Timestamp", 0)) // 1000)
            stats = self.groups.get(group)
            if stats is None:
                stats = self.groups[group] = [None] * len(plan.metrics)
            for slot, name in enumerate(plan.metrics):
                values = doc.get(name)
                for value in values if type(values) is list else (values,):
                    if type(value) is float or type(value) is int:  # not bool, not text
                        held = stats[slot]
                        if held is None:
                            stats[slot] = [1.0, value, value, value]
                        else:
                            held[0] += 1.0
                            held[1] += value
                            if value < held[2]:
                                held[2] = value
                            elif value > held[3]:
                                held[3] = value
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # not EMF after all: it stays in the log file, as CloudWatch would ignore it

    def metric_data(self) -> dict[str, list[dict[str, Any]]]:
        """PutMetricData entries by namespace."""
        out: dict[str, list[dict[str, Any]]] = {}
        for (key, values, second), stats in self.groups.items():
            plan = self._plans[key]
            found = dict(zip(plan.fields, values))
            for namespace, name, unit, dimension_names, slot in plan.entries:
                held = stats[slot]
                if held is None:
                    continue
                count, total, low, high = held
                out.setdefault(namespace, []).append({
                    "MetricName": name,
                    "Dimensions": [{"Name": n, "Value": found[n]} for n in dimension_names if found[n] is not None],
                    "StatisticValues": {"SampleCount": count, "Sum": float(total), "Minimum": float(low),
                                        "Maximum": float(high)},
                    "Unit": unit, "Timestamp": datetime.fromtimestamp(second, UTC)})
        return out


class EmfTee(io.TextIOBase):
    """A stdout that writes through to ``sink`` and feeds complete EMF lines to ``forwarder``."""

    def __init__(self, sink: TextIO, forwarder: EmfForwarder):
        self.sink = sink
        self.forwarder = forwarder
        self._partial = ""

    def write(self, text: str) -> int:
        self.sink.write(text)
        if EMF_MARKER in text or self._partial:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self.forwarder.feed(line)
        return len(text)

    def flush(self) -> None:
        self.sink.flush()

    def writable(self) -> bool:
        return True
