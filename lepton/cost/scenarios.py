"""The levers the scaling document compares: what each of Lambda's controls changes under load."""
from __future__ import annotations

import math

from .model import Timing
from .prices import Prices
from .simulate import DEFAULT_RESTORE_MS, Limits, Run, simulate
from .traffic import Profile

QUOTA_ACCOUNT = 10_000  # a raised account concurrency quota
QUOTA_GATEWAY = 20_000.0  # a raised API Gateway rate; its burst is taken at the same half as the default's


def levers(timing: Timing, peak_rps: float) -> list[tuple[str, Limits]]:
    """The default limits and one change at a time, sized for a profile peaking at `peak_rps`."""
    need = max(1, math.ceil(peak_rps * timing.billed_ms / 1000.0))
    provisioned = 2 * need
    return [
        ("default limits", Limits()),
        ("reserved concurrency 100", Limits(reserved=100)),
        (f"provisioned concurrency {provisioned} (2x the peak's need)", Limits(provisioned=provisioned)),
        (f"SnapStart (restore {DEFAULT_RESTORE_MS:.0f} ms, assumed)", Limits(snapstart=True)),
        (f"quota increase: {QUOTA_ACCOUNT:,} concurrency, API Gateway {QUOTA_GATEWAY:,.0f} req/s",
         Limits(account_concurrency=QUOTA_ACCOUNT, gateway_rate=QUOTA_GATEWAY, gateway_burst=QUOTA_GATEWAY / 2)),
    ]


def compare(profile: Profile, timing: Timing, prices: Prices, arch: str = "arm64") -> list[tuple[str, Run]]:
    peak = max(profile.rate(i * profile.step_s) for i in range(profile.steps()))
    return [(label, simulate(profile, timing, limits, prices, arch)) for label, limits in levers(timing, peak)]
