"""Deployment errors. Each subclasses an error of lepton_serving.errors, so its HTTP status
comes from that one table; each carries the message an operator reads in records and logs."""
from __future__ import annotations

from lepton_serving.errors import Conflict, LeptonError, UpstreamFailure

from .outcomes import Outcome


class PointerConflict(Conflict):
    """The live pointer changed between our read and our write."""


class RolloutError(LeptonError):
    """A move that was refused or failed; ``outcome`` is how the attempt is recorded.

    ``failed`` moves are worth retrying (the deployer fails the message so SQS redelivers it);
    ``skipped`` ones are final.
    """

    outcome = Outcome.FAILED


class DeploymentBusy(RolloutError, Conflict):
    """Another deployer holds this model's lease."""


class Superseded(RolloutError, Conflict):
    """An equal or newer version went live while this one was being validated."""

    outcome = Outcome.SKIPPED


class NothingToDo(RolloutError, Conflict):
    """No canary to promote, no earlier version to roll back to, an unknown version."""

    outcome = Outcome.SKIPPED


class AliasConflict(RolloutError, Conflict):
    """The alias, function or pointer changed under us (RevisionId or generation mismatch)."""


class FunctionUpdateFailed(RolloutError, UpstreamFailure):
    """Lambda could not apply the new configuration."""


class Rejected(LeptonError):
    """A version failed a gate check; the live model is untouched. Never retried."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


class Skipped(LeptonError):
    """A version that must not go live for a reason that is not its fault (it is older)."""


class BadMessage(LeptonError):
    """A queue message that is not an S3 notification or a deployer command."""


class Retry(LeptonError):
    """A transient failure, already recorded: fail the message so SQS delivers it again."""
