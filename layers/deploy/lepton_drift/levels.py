"""A drift check's level: what the registry records and every view shows, without numpy (the
deployment core reads it on paths that never measure anything)."""
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
