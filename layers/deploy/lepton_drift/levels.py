"""How far a model has drifted, as a word every reader of a drift check shares. Its own module,
without numpy, so the deployment records (lepton_deploy.registry) can name a level without
loading the statistics."""
from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ALARM = "alarm"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_REFERENCE = "no_reference"

    @property
    def rank(self) -> int:
        return {"no_reference": 0, "not_enough_data": 1, "ok": 2, "warning": 3, "alarm": 4}[self.value]
