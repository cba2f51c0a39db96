"""What the benchmark measured, read as data: warm and cold durations per model, peers' throughput.

Two files hold a run's results, in the same shape: `.lepton/bench/latest.json` (the last run on this
machine, every statistic, git-ignored) and `docs/benchmarks.json` (the committed summary that
`lepton bench` writes next to docs/benchmarks.md, so a fresh clone has numbers). `choose()` takes
the newer of the two by measurement date and says which. The shape, per section:

    meta      {"date": "YYYY-MM-DD HH:MM UTC", "machine": {...}, "command": ..., ...}
    cold      {"models": {model: {"lepton": {stage: {"median": ms, "p99": ms, ...}}}}}
              stages: interpreter, imports, download, session, first_inference, total
    overhead  {"models": {model: {batch: {"handler_us": {"median": µs, "p99": µs}, ...}}}}
    http      {"servers": {server: {model: {concurrency: {"rps": {"median": req/s}, ...}}}}}
    package   {"arches": {arch: {"functions": {model: {"total_unzipped_mb": MB, ...}}}}}  (optional)
    batch     {"models": {model: {rows: {"invocation_ms": {"median": ms}, "rows_per_s": ...}}}}  (optional)

This module reads files only; it never imports the benchmark suite.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LATEST = Path(".lepton") / "bench" / "latest.json"
COMMITTED = Path("docs") / "benchmarks.json"


class ResultsError(ValueError):
    """No usable benchmark results: the message says which command produces them."""


@dataclass(frozen=True)
class ModelTimes:
    """One model function's measured durations on the benchmark machine (one vCPU, one thread)."""

    name: str
    warm_ms: dict[int, tuple[float, float]]  # batch -> (median, p99) of the whole handler call
    init_ms: float  # cold start to the end of the init phase: total minus the first inference
    cold_total_ms: float  # fresh process to first response (median)
    first_inference_ms: float


@dataclass(frozen=True)
class Measurements:
    source: Path
    date: str
    machine: dict[str, str]
    command: str
    models: dict[str, ModelTimes]
    # server -> model -> concurrency -> requests per second (median over repeats)
    throughput: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    peer_versions: dict[str, str] = field(default_factory=dict)
    package_mb: dict[str, float] = field(default_factory=dict)  # arch -> largest function + layers, unzipped
    load: dict[str, str] = field(default_factory=dict)  # load average (1/5/15 min) at start, per section, end
    batch_ms: dict[str, dict[int, float]] = field(default_factory=dict)  # model -> rows -> one batch invocation (median)

    def machine_text(self) -> str:
        m = self.machine
        return (f"{m.get('cores', '?')} vCPU {m.get('cpu', '?')}, {m.get('memory', '?')}, "
                f"{m.get('arch', '?')}, Python {m.get('python', '?')}")

    def best_rps(self, server: str, model: str) -> tuple[float, int] | None:
        """The highest measured req/s of one server process for a model, and at which concurrency."""
        by_c = self.throughput.get(server, {}).get(model, {})
        if not by_c:
            return None
        c, rps = max(by_c.items(), key=lambda kv: kv[1])
        return rps, c


def _median(stats: Any) -> float:
    if not isinstance(stats, dict) or not isinstance(stats.get("median"), (int, float)):
        raise KeyError("median")
    return float(stats["median"])


def parse(results: dict[str, Any], source: Path) -> Measurements:
    """Measurements from one results document; ResultsError when warm or cold timings are missing."""
    meta = results.get("meta") or {}
    cold = (results.get("cold") or {}).get("models") or {}
    warm = (results.get("overhead") or {}).get("models") or {}
    if not cold or not warm:
        raise ResultsError(f"{source} has no {'cold start' if not cold else 'warm overhead'} results; "
                           "run `lepton bench --sections cold,overhead,http`")
    models = {}
    for name in warm:
        if name not in cold:
            continue
        try:
            lepton = cold[name]["lepton"]
            total, first = _median(lepton["total"]), _median(lepton["first_inference"])
            batches = {int(b): (_median(r["handler_us"]) / 1000.0, float(r["handler_us"]["p99"]) / 1000.0)
                       for b, r in warm[name].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(f"{source}: results for {name} are incomplete ({exc})") from exc
        models[name] = ModelTimes(name=name, warm_ms=batches, init_ms=total - first, cold_total_ms=total,
                                  first_inference_ms=first)
    if not models:
        raise ResultsError(f"{source}: no model has both cold start and warm results")
    throughput: dict[str, dict[str, dict[int, float]]] = {}
    for server, by_model in ((results.get("http") or {}).get("servers") or {}).items():
        for model, by_c in by_model.items():
            for c, entry in by_c.items():
                if isinstance(entry, dict) and "rps" in entry:
                    throughput.setdefault(server, {}).setdefault(model, {})[int(c)] = _median(entry["rps"])
    package = {arch: max(f["total_unzipped_mb"] for f in entry["functions"].values())
               for arch, entry in ((results.get("package") or {}).get("arches") or {}).items() if entry.get("functions")}
    batch = {model: {int(rows): _median(entry["invocation_ms"]) for rows, entry in by_rows.items() if rows.isdigit()}
             for model, by_rows in ((results.get("batch") or {}).get("models") or {}).items()}
    return Measurements(source=source, date=str(meta.get("date", "")), machine=dict(meta.get("machine") or {}),
                        command=str(meta.get("command", "")), models=models, throughput=throughput,
                        peer_versions=dict((results.get("http") or {}).get("versions") or {}), package_mb=package,
                        load={"start": str(meta.get("load_start", "")), **(meta.get("load_at") or {}),
                              "end": str(meta.get("load_end", ""))}, batch_ms=batch)


def load(path: Path) -> Measurements:
    try:
        return parse(json.loads(path.read_text()), path)
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not valid JSON ({exc})") from exc


def _when(m: Measurements) -> float:
    try:
        return time.mktime(time.strptime(m.date, "%Y-%m-%d %H:%M UTC"))
    except ValueError:
        return m.source.stat().st_mtime


def choose(root: Path) -> tuple[Measurements, str]:
    """The newer of the machine's last run and the committed results, and a sentence saying why."""
    found, problems = [], []
    for relative in (LATEST, COMMITTED):
        path = root / relative
        if not path.is_file():
            continue
        try:
            found.append(load(path))
        except ResultsError as exc:
            problems.append(str(exc))
    if not found:
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise ResultsError(f"no benchmark results in {root / LATEST} or {root / COMMITTED}{detail}; "
                           "run `lepton bench --sections cold,overhead,http` first")
    best = max(found, key=_when)  # max keeps the first on a tie: this machine's own run
    why = f"measured {best.date}"
    for other in (m for m in found if m is not best):
        relation = "the same run as" if _when(other) == _when(best) else "newer than"
        why += f", {relation} {other.source.relative_to(root)} ({other.date})"
    return best, why
