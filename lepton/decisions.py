"""Waiting for the deployer's decision on an upload: the one loop behind `lepton push`, `lepton
add` and the local stack's first start, whichever way each reads the attempts (the control API,
or the deployments table)."""
from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable

from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import Attempt

#: The decisions the deployer will not change for an upload (a failure is retried).
FINAL = frozenset(o for o in Outcome if o.final)


def wait_for_decision(attempts: Callable[[], Iterable[Attempt]], *, version: int | None = None, since: str = "",
                      outcomes: Collection[Outcome] = FINAL, timeout: float = 120.0, every: float = 0.2
                      ) -> Attempt | None:
    """The first attempt made for an upload (of ``version``, or recorded at or after ``since``)
    whose outcome is one of ``outcomes``; None when there is none after ``timeout`` seconds.
    ``attempts`` reads them again on each look, newest first."""
    deadline = time.monotonic() + timeout
    while True:
        for attempt in attempts():
            if (attempt.actor == "upload" and attempt.outcome in outcomes and attempt.created_at >= since
                    and (version is None or attempt.version == version)):
                return attempt
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)
