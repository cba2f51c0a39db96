"""The regression gate: is a published version much slower, slower to start or hungrier than
the live one, measured side by side in the same run?

A candidate is refused when

- its warm p99 is more than ``p99_ratio`` times the live version's, in every round measured
  (measure.py repeats a round that exceeds it, so one unlucky round on a busy machine is not
  enough);
- its init is more than ``init_ratio`` times the live version's, or above ``init_budget_ms``;
- its max memory is above the configured memory less ``memory_headroom`` (0.2: above 80 %).

A first version has nothing to compare with: only the budgets apply. Every threshold is a
template parameter (deployer/config.py). The reason names both versions' figures.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    p99_ratio: float = 2.0
    init_ratio: float = 2.0
    init_budget_ms: float = 5000.0
    memory_headroom: float = 0.2

    def memory_limit_mb(self, memory_mb: int) -> float:
        return memory_mb * (1.0 - self.memory_headroom)


@dataclass(frozen=True)
class Figures:
    """One version's figures, as the gate compares them."""

    version: int
    p99_ms: float | None  # over every round
    round_p99_ms: tuple[float, ...]
    init_ms: float | None
    init_from: str  # "this run", or the receipt it was read from
    max_memory_mb: int | None
    memory_mb: int

    @property
    def label(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class Verdict:
    refused: bool
    reason: str  # what was compared, the figures and the limits; the problems first when refused
    problems: tuple[str, ...] = ()


def p99_exceeds(candidate: Figures, live: Figures | None, t: Thresholds) -> bool:
    """Does the last round's candidate p99 exceed the limit (so measure.py runs another)?"""
    if live is None or not candidate.round_p99_ms or not live.round_p99_ms:
        return False
    return _ratio(candidate.round_p99_ms[-1], live.round_p99_ms[-1]) > t.p99_ratio


def judge(candidate: Figures, live: Figures | None, t: Thresholds) -> Verdict:
    problems: list[str] = []
    notes: list[str] = []
    c = candidate
    # warm p99, side by side
    if live is not None and c.p99_ms is not None and live.p99_ms is not None:
        ratios = [_ratio(a, b) for a, b in zip(c.round_p99_ms, live.round_p99_ms)]
        text = (f"warm p99 {c.p99_ms:.2f} ms against {live.label}'s {live.p99_ms:.2f} ms "
                f"({_ratio(c.p99_ms, live.p99_ms):.1f}x, limit {t.p99_ratio:g}x")
        rounds = f"{len(ratios)} interleaved round{'s' if len(ratios) != 1 else ''}"
        if ratios and all(r > t.p99_ratio for r in ratios):
            problems.append(f"{text}, above it in each of {rounds}: {', '.join(f'{r:.1f}x' for r in ratios)})")
        else:
            notes.append(f"{text}, {rounds})")
    elif c.p99_ms is not None:
        notes.append(f"warm p99 {c.p99_ms:.2f} ms (nothing live to compare with)")
    # init: the ratio to the live version's, and the budget
    if c.init_ms is None:
        notes.append("init not measured")
    else:
        over_budget = c.init_ms > t.init_budget_ms
        if live is not None and live.init_ms:
            ratio = _ratio(c.init_ms, live.init_ms)
            text = (f"init {c.init_ms:,.0f} ms against {live.label}'s {live.init_ms:,.0f} ms ({live.init_from}; "
                    f"{ratio:.1f}x, limit {t.init_ratio:g}x or {t.init_budget_ms:,.0f} ms)")
            (problems if ratio > t.init_ratio or over_budget else notes).append(text)
        else:
            text = f"init {c.init_ms:,.0f} ms (budget {t.init_budget_ms:,.0f} ms)"
            (problems if over_budget else notes).append(text)
    # memory against the configured size less the headroom
    if c.max_memory_mb is None:
        notes.append(f"max memory not measured ({c.memory_mb} MB configured)")
    else:
        limit = t.memory_limit_mb(c.memory_mb)
        was = f"; {live.label} {live.max_memory_mb} MB" if live is not None and live.max_memory_mb is not None else ""
        text = (f"max memory {c.max_memory_mb} MB of {c.memory_mb} MB configured "
                f"(limit {limit:,.0f} MB, {t.memory_headroom:.0%} headroom{was})")
        (problems if c.max_memory_mb > limit else notes).append(text)
    if problems:
        return Verdict(True, "; ".join([*problems, *notes]), tuple(problems))
    return Verdict(False, "; ".join(notes))


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf") if a > 0 else 1.0
