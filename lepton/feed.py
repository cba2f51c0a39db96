"""Say each deployment decision in the terminal as it is recorded: promoted, rejected (why)."""
from __future__ import annotations

import logging
import threading

from lepton_deploy.registry import Registry

log = logging.getLogger("lepton.stack")


class DeploymentFeed:
    def __init__(self, registry: Registry, poll_seconds: float = 0.5):
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._seen: set[str] = set()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="lepton-feed", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                attempts = self.registry.list_deployments(limit=20)
            except Exception:  # the table is gone while stopping
                continue
            for attempt in reversed(attempts):
                key = f"{attempt.model}/{attempt.created_at}/{attempt.outcome}"
                if key in self._seen:
                    continue
                self._seen.add(key)
                level = logging.INFO if attempt.outcome in ("promoted", "canary", "rolled_back") else logging.WARNING
                log.log(level, "deploy %s v%s: %s — %s", attempt.model, attempt.version, attempt.outcome,
                        attempt.reason)
