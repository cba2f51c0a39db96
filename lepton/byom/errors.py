"""The one error `lepton add` and `lepton remove` raise: what is wrong, and what to do."""
from __future__ import annotations


class Refused(Exception):
    """The model or the name cannot be served as given; nothing has been written."""

    def __init__(self, reason: str, fix: str = ""):
        super().__init__(f"{reason}. {fix[:1].upper()}{fix[1:]}" if fix else reason)
        self.reason = reason
        self.fix = fix

    @property
    def message(self) -> str:
        return str(self)
