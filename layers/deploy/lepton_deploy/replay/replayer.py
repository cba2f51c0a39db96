"""Send captured requests to a published version and judge its answers against the live ones.

The records' inputs go to the version's V2 infer route through its real handler (Lambda's
Invoke API by qualifier; in-process locally), several records to a call, up to the batch
limit. A call the version refuses with a 4xx is split in halves and each half sent again, so a
batch limit lower than assumed is learnt once and a single request the version cannot answer
is found and counted as a disagreement, not blamed on its neighbours. Everything runs within a
deadline: the deployer's time is bounded, and a version too slow to answer the captured
requests in it is refused.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lepton_serving.manifest import V2_TO_NUMPY, Manifest
from lepton_serving.origin import REPLAY

from ..captures import CaptureRecord
from ..invoke import Invoker, answer_of, infer_event
from .agreement import Comparison, compare
from .tasks import judged_output, task_of, thresholds

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
#: Disagreeing cases kept for the file an operator reads (inputs, live and candidate outputs).
MAX_CASES = 100


@dataclass(frozen=True)
class ReplaySettings:
    """How many captured requests a replay takes, how few it may judge on, and how long it may run."""

    requests: int = 200
    min_requests: int = 30
    max_seconds: float = 60.0
    batch_rows: int = 64  # rows per call at first (the function's LEPTON_MAX_BATCH)


@dataclass
class ReplayResult:
    outcome: str  # passed | failed | skipped
    reason: str  # names the figure and its limit, or why nothing was judged
    figures: dict[str, Any] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)  # disagreeing cases, at most MAX_CASES


@dataclass
class _Batch:
    indexes: list[int]  # records, by position in the replay's list
    rows: int


class Replay:
    """One replay of ``records`` (the live version's, newest first) against one published version."""

    def __init__(self, invoke: Invoker, manifest: Manifest, function_name: str, qualifier: str,
                 settings: ReplaySettings = ReplaySettings(), clock: Callable[[], float] = time.monotonic):
        self.invoke = invoke
        self.manifest = manifest
        self.function_name = function_name
        self.qualifier = qualifier
        self.settings = settings
        self.clock = clock
        self.invocations = 0

    def judge(self, records: Sequence[CaptureRecord], live_version: str | int, deadline: float) -> ReplayResult:
        """Replay, compare, decide. ``deadline``: a ``clock()`` time the replay must end by."""
        started = self.clock()
        task, source = task_of(self.manifest)
        limits = thresholds(self.manifest, task)
        base = {"task": str(task), "task_source": source, "live_version": str(live_version),
                "output": judged_output(task, self.manifest.outputs, self.manifest.labels), **limits}
        wanted, least = self.settings.requests, self.settings.min_requests
        if len(records) < least:
            return ReplayResult(SKIPPED, f"{len(records)} captured request(s) of live version {live_version}, fewer "
                                         f"than the {least} needed to judge on; not compared",
                                {**base, "requests": len(records)})
        answers = self._send(list(records), deadline)
        seconds = round(self.clock() - started, 3)
        answered = [i for i in range(len(records)) if i in answers]
        figures = {**base, "requests": len(answered), "captured": len(records), "invocations": self.invocations,
                   "seconds": seconds}
        if len(answered) < len(records) and len(answered) < least:
            return ReplayResult(FAILED, f"replay ran out of time: {len(answered)} of {len(records)} captured requests "
                                        f"answered in {seconds:.1f} s, fewer than the {least} needed", figures)
        used = [records[i] for i in answered]
        output = base["output"]
        live, inputs = _stack([r.outputs for r in used]), _stack([r.inputs for r in used])
        candidate, failed, errors = self._candidate([answers[i] for i in answered], used, live)
        comparison = compare(task, limits, output, live, candidate, failed, inputs)
        rows = int(failed.size)
        figures.update(comparison.figures, rows=rows, errors=errors)
        if comparison.skipped:
            return ReplayResult(SKIPPED, f"{task} not compared: {comparison.skipped}", figures)
        reason = comparison.headline(len(answered), rows)
        if len(answered) < len(records):
            reason += f"; {len(records) - len(answered)} more not answered within the {deadline - started:.0f} s budget"
        cases = _cases(comparison, used, answers, answered, output) if comparison.disagreeing else []
        return ReplayResult(PASSED if comparison.passed else FAILED, reason, figures, cases)

    # -- sending ---------------------------------------------------------------------------------
    def _send(self, records: list[CaptureRecord], deadline: float) -> dict[int, dict[str, np.ndarray] | str]:
        """Each record's answer (its outputs, or the error the version gave), until the deadline."""
        limit = max(1, self.settings.batch_rows)
        pending = deque(_batches(records, limit))
        answers: dict[int, dict[str, np.ndarray] | str] = {}
        while pending and self.clock() < deadline:
            batch = pending.popleft()
            if batch.rows > limit and len(batch.indexes) > 1:  # a limit learnt since this batch was planned
                pending.extendleft(reversed(_halves(batch, records)))
                continue
            status, body = self._call([records[i] for i in batch.indexes])
            if status == 200:
                outputs = _outputs(body)
                at = 0
                for i in batch.indexes:
                    n = records[i].rows
                    answers[i] = {name: array[at:at + n] for name, array in outputs.items()}
                    at += n
            elif 400 <= status < 500 and len(batch.indexes) > 1:
                limit = max(1, min(limit, batch.rows // 2))
                pending.extendleft(reversed(_halves(batch, records)))
            else:
                message = str(body.get("error") or body.get("message") or body)[:300]
                for i in batch.indexes:
                    answers[i] = f"{status}: {message}"
        return answers

    def _call(self, records: list[CaptureRecord]) -> tuple[int, dict[str, Any]]:
        inputs = []
        for position, spec in enumerate(records[0].inputs):
            data: list[Any] = []
            for record in records:
                data += record.inputs[position].data or []
            rows = sum(r.inputs[position].rows for r in records)
            inputs.append({"name": spec.name, "datatype": spec.datatype, "shape": [rows, *spec.shape[1:]], "data": data})
        event = infer_event(self.manifest.name, {"id": f"replay-{self.invocations}", "inputs": inputs}, REPLAY)
        self.invocations += 1
        return answer_of(self.invoke(self.function_name, self.qualifier, event))

    def _candidate(self, answers: list[dict[str, np.ndarray] | str], used: list[CaptureRecord],
                   live: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
        """The candidate's outputs row by row (NaN where it answered with an error), which rows failed."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in live}
        failed: list[bool] = []
        for answer, record in zip(answers, used):
            n = record.rows
            for name, want in live.items():
                got = answer.get(name) if isinstance(answer, dict) else None
                shaped = (n, *want.shape[1:])
                parts[name].append(got if got is not None and got.shape == shaped else np.full(shaped, np.nan))
            failed += [not isinstance(answer, dict)] * n
        stacked = {name: np.concatenate(p) if p else np.empty((0,)) for name, p in parts.items()}
        return stacked, np.asarray(failed, dtype=bool), sum(1 for a in answers if not isinstance(a, dict))


def _batches(records: list[CaptureRecord], limit: int) -> list[_Batch]:
    """Consecutive records with the same tensors (names, types, row shapes), up to ``limit`` rows."""
    batches: list[_Batch] = []
    for i, record in enumerate(records):
        key = _signature(record)
        last = batches[-1] if batches else None
        if last is not None and _signature(records[last.indexes[0]]) == key and last.rows + record.rows <= limit:
            last.indexes.append(i)
            last.rows += record.rows
        else:
            batches.append(_Batch([i], record.rows))
    return batches


def _halves(batch: _Batch, records: list[CaptureRecord]) -> list[_Batch]:
    middle = len(batch.indexes) // 2
    parts = [batch.indexes[:middle], batch.indexes[middle:]]
    return [_Batch(p, sum(records[i].rows for i in p)) for p in parts]


def _signature(record: CaptureRecord) -> tuple[Any, ...]:
    return tuple((t.name, t.datatype, t.shape[1:]) for t in record.inputs)


def _outputs(body: dict[str, Any]) -> dict[str, np.ndarray]:
    found = {}
    for entry in body.get("outputs") or []:
        try:
            dtype = object if entry["datatype"] == "BYTES" else V2_TO_NUMPY[entry["datatype"]]
            values = entry["data"] if dtype == object else [np.nan if v is None else v for v in entry["data"]]
            found[entry["name"]] = np.asarray(values, dtype=dtype).reshape(entry["shape"])
        except (KeyError, TypeError, ValueError):
            continue  # an output we cannot read compares as missing
    return found


def _stack(tensor_lists: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    names = [t.name for t in tensor_lists[0]] if tensor_lists else []
    return {name: np.concatenate([next(t for t in tensors if t.name == name).array() for tensors in tensor_lists])
            for name in names}


def _cases(comparison: Comparison, used: list[CaptureRecord], answers: dict[int, Any], answered: list[int],
           output: str) -> list[dict[str, Any]]:
    """The first disagreeing rows: each with its request's id, its inputs, the live and the candidate answer."""
    where: list[tuple[int, int]] = [(position, row) for position, r in enumerate(used) for row in range(r.rows)]
    cases = []
    for index in comparison.disagreeing[:MAX_CASES]:
        position, row = where[index]
        record, answer = used[position], answers[answered[position]]
        candidate = ({"error": answer} if isinstance(answer, str)
                     else {output: _plain(answer[output][row]) if output in answer else None})
        cases.append({"request_id": record.id, "time": record.time, "row": row,
                      "inputs": {t.name: _plain(t.array()[row]) for t in record.inputs},
                      "live": {t.name: _plain(t.array()[row]) for t in record.outputs if t.name == output},
                      "candidate": candidate})
    return cases


def _plain(value: Any) -> Any:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return np.where(np.isfinite(array), array, None).tolist()
    return array.tolist()

