"""Which configuration serves a request: the function's `live` alias, read from Lambda.

The alias names a version (and, during a canary, a second one with a weight); a published
version's configuration never changes, so it is fetched once. A background refresh keeps the
alias current, so a promotion or rollback made by any process shows within a second.
"""
from __future__ import annotations

import logging
import random
import threading

from lepton_deploy.functions import ALIAS, AliasState, LambdaFunctions

log = logging.getLogger("lepton.aliases")


class LiveAliases:
    def __init__(self, functions: LambdaFunctions, function_names: dict[str, str], alias: str = ALIAS,
                 refresh_seconds: float = 0.5, rng: random.Random | None = None):
        self.functions = functions
        self.function_names = dict(function_names)  # logical id -> physical function name
        self.alias = alias
        self.refresh_seconds = refresh_seconds
        self.rng = rng or random.Random()
        self.states: dict[str, AliasState] = {}
        self._env: dict[tuple[str, str], dict[str, str]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, function_names: dict[str, str]) -> None:
        """Follow these functions' aliases from now on (the template changed)."""
        self.function_names = dict(function_names)
        self.states = {lid: state for lid, state in self.states.items() if lid in function_names}
        # A function removed and added again starts over at version 1: forget its old versions.
        self._env = {key: env for key, env in self._env.items() if key[0] in function_names}

    def refresh(self) -> None:
        for logical_id, name in list(self.function_names.items()):
            try:
                state = self.functions.alias(name, self.alias)
            except Exception:
                if logical_id in self.function_names:
                    raise
                continue  # the template dropped it while this pass ran
            for version in (state.version, *state.weights):
                if (logical_id, version) not in self._env:
                    self._env[(logical_id, version)] = self.functions.config(name, version).environment
            if self.states.get(logical_id) != state:
                canary = state.canary
                log.info("%s: live -> version %s%s", logical_id, state.version,
                         f" (canary {canary[0]} at {canary[1]:.0%})" if canary else "")
            self.states[logical_id] = state

    def pick(self, logical_id: str) -> tuple[str, dict[str, str]] | None:
        """(version, environment) for one request, honouring the canary weight."""
        state = self.states.get(logical_id)
        if state is None:
            return None
        version = state.version
        canary = state.canary
        if canary and self.rng.random() < canary[1]:
            version = canary[0]
        return version, self._env[(logical_id, version)]

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="lepton-aliases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception as exc:  # keep serving the last known state; say why once per failure
                log.warning("alias refresh failed: %s", exc)
