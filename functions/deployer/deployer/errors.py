"""The deployer's own errors. Each carries the message an operator reads in the record and logs."""
from __future__ import annotations

from lepton_serving.errors import LeptonError


class Rejected(LeptonError):
    """A version failed a gate check; the live model is untouched. Never retried."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


class Skipped(LeptonError):
    """A version that must not go live for a reason that is not its fault (it is older)."""


class BadMessage(LeptonError):
    """A queue message that is not an S3 notification or a deployer command."""


class ConfigError(LeptonError):
    """The deployer's environment is invalid: every message fails until it is fixed."""


class Retry(LeptonError):
    """A transient failure, already recorded: fail the message so SQS delivers it again."""
