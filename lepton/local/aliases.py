"""Which configuration serves a request: the function's `live` alias, read from Lambda.

The alias names a version (and, during a canary, a second one with a weight); a published
version's configuration never changes, so it is fetched once. Requests read the state kept
here and never call Lambda. A follower thread reads the aliases again when the local AWS has
served an alias write (changes.py), whichever process made it (the deployer, `lepton rollback`,
the aws CLI): at once, with no polling while nothing changes. Against an external endpoint,
whose writes are not seen, it polls every ``POLL_SECONDS`` instead.
"""
from __future__ import annotations

import logging
import random

from lepton_deploy.functions import ALIAS, AliasState, LambdaFunctions

from .changes import ALIASES, Changes, Follower

log = logging.getLogger("lepton.local.aliases")

#: Against an external endpoint: how often the aliases are read (the bound on a move's delay).
POLL_SECONDS = 1.0


class LiveAliases:
    def __init__(self, functions: LambdaFunctions, function_names: dict[str, str], alias: str = ALIAS,
                 changes: Changes | None = None, every: float | None = POLL_SECONDS,
                 rng: random.Random | None = None):
        """``changes``: where the local AWS marks alias writes (None: nothing marks them, so
        ``every`` seconds is the only refresh)."""
        self.functions = functions
        self.function_names = dict(function_names)  # logical id -> physical function name
        self.alias = alias
        self.rng = rng or random.Random()
        self.states: dict[str, AliasState] = {}
        self._env: dict[tuple[str, str], dict[str, str]] = {}
        self.changes = changes or Changes()
        self._follower = Follower(self.changes, ALIASES, self.refresh, every, "lepton-aliases")

    def track(self, function_names: dict[str, str]) -> None:
        """Follow these functions' aliases from now on (the template changed), from a fresh look."""
        self.function_names = dict(function_names)
        self.states = {lid: state for lid, state in self.states.items() if lid in function_names}
        # A function removed and added again starts over at version 1: forget its old versions.
        self._env = {key: env for key, env in self._env.items() if key[0] in function_names}
        self.changes.mark(ALIASES)

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
        self._follower.start()  # the first refresh in the caller: served from the first request on

    def stop(self) -> None:
        self._follower.stop()
