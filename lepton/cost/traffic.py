"""Traffic profiles for the scaling simulation: offered requests per second over time.

Each profile is a function of time plus the step the simulation uses for it: short steps where the
rate jumps (a spike against a ~0.5 s init phase), long ones where it moves slowly (a day).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

SPIKE_AT_S = 60.0  # when the spike profile jumps


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    duration_s: float
    step_s: float
    rate: Callable[[float], float]  # offered requests per second at time t
    window_s: float  # how the report groups steps for plots and per-window p99

    def steps(self) -> int:
        return int(round(self.duration_s / self.step_s))


def ramp(start: float = 1.0, end: float = 10_000.0, over_s: float = 600.0, hold_s: float = 60.0) -> Profile:
    def rate(t: float) -> float:
        return start + (end - start) * min(1.0, t / over_s)

    return Profile("ramp", f"linear ramp {start:,.0f} -> {end:,.0f} req/s over {over_s:.0f} s, then held "
                   f"{hold_s:.0f} s", over_s + hold_s, 0.5, rate, 10.0)


def spike(base: float = 100.0, peak: float = 10_000.0, at_s: float = SPIKE_AT_S, for_s: float = 60.0,
          after_s: float = 60.0) -> Profile:
    def rate(t: float) -> float:
        return peak if at_s <= t < at_s + for_s else base

    return Profile("spike", f"{base:,.0f} req/s, a jump to {peak:,.0f} req/s at {at_s:.0f} s for {for_s:.0f} s, "
                   f"then {base:,.0f} again", at_s + for_s + after_s, 0.05, rate, 1.0)


def daily(low: float = 100.0, high: float = 5_000.0, peak_hour: float = 15.0) -> Profile:
    def rate(t: float) -> float:
        hours = t / 3600.0
        return low + (high - low) * (1 + math.cos(2 * math.pi * (hours - peak_hour) / 24.0)) / 2

    return Profile("daily", f"a day between {low:,.0f} req/s and {high:,.0f} req/s (peak at "
                   f"{peak_hour:02.0f}:00)", 86_400.0, 60.0, rate, 900.0)


PROFILES: dict[str, Callable[[], Profile]] = {"ramp": ramp, "spike": spike, "daily": daily}


def named(name: str) -> Profile:
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError(f"unknown traffic profile {name!r}; choose from {', '.join(PROFILES)}") from None
