"""How a deployment attempt ended: the one vocabulary of the registry, the deployer, the control
API, the CLI and the local stack's feed.

A ``StrEnum``: stored in DynamoDB, written in JSON and compared with text as the plain string it
is, so records written before it read back unchanged.
"""
from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    PROMOTED = "promoted"  # serves all traffic
    CANARY = "canary"  # serves a share of traffic beside the live version (also: a canary held)
    REJECTED = "rejected"  # failed a check; the live version is untouched
    SKIPPED = "skipped"  # not the version's fault: an older one, or nothing to do
    ROLLED_BACK = "rolled_back"  # an earlier version serves again (or a canary was cancelled)
    FAILED = "failed"  # a transient failure; the upload is retried

    @property
    def final(self) -> bool:
        """The deployer will not decide again on this upload (a failure is retried)."""
        return self in (Outcome.PROMOTED, Outcome.CANARY, Outcome.REJECTED, Outcome.SKIPPED)

    @property
    def serving(self) -> bool:
        """The attempt's version now takes traffic."""
        return self in (Outcome.PROMOTED, Outcome.CANARY)

    @property
    def moved(self) -> bool:
        """The attempt moved the alias: its version was published and can be served again."""
        return self in (Outcome.PROMOTED, Outcome.CANARY, Outcome.ROLLED_BACK)


class NoMove(StrEnum):
    """The deployer's answer to a message that moves nothing (only a hold records an attempt,
    as ``canary``)."""

    IGNORED = "ignored"  # not a manifest, or a canary check whose canary is gone
    WAITING = "waiting"  # a canary check before its bake time is over: it is checked again later
    HELD = "held"  # a canary with too few requests to judge keeps its share until the next check
