"""Say each deployment decision in the terminal as it is recorded: promoted, rejected (why).

It reads the deployments table when the local AWS has served a write to DynamoDB (changes.py),
so an idle stack makes no calls; against an external endpoint it polls every ``POLL_SECONDS``.
"""
from __future__ import annotations

import logging

from lepton_deploy.registry import Registry

from .changes import DEPLOYMENTS, Changes, Follower

log = logging.getLogger("lepton.local.stack")

POLL_SECONDS = 2.0


class DeploymentFeed:
    def __init__(self, registry: Registry, changes: Changes | None = None, every: float | None = POLL_SECONDS):
        self.registry = registry
        self._seen: set[str] = set()
        self._follower = Follower(changes or Changes(), DEPLOYMENTS, self.look, every, "lepton-feed")

    def start(self) -> None:
        self._follower.start()

    def stop(self) -> None:
        self._follower.stop()

    def look(self) -> None:
        for attempt in reversed(self.registry.list_deployments(limit=20)):
            key = f"{attempt.model}/{attempt.created_at}/{attempt.outcome}"
            if key in self._seen:
                continue
            self._seen.add(key)
            level = logging.INFO if attempt.outcome.moved else logging.WARNING
            log.log(level, "deploy %s v%s: %s — %s", attempt.model, attempt.version, attempt.outcome, attempt.reason)
