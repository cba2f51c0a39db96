"""Deployment outcomes are one enum, shared by the registry, the deployer, the control API, the
CLI and the local stack's feed; one helper waits for the deployer's decision on an upload."""
from __future__ import annotations

import re

import pytest
from eventfiles import ROOT
from lepton.decisions import FINAL, wait_for_decision
from lepton.ops import STYLE
from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import Attempt


def test_every_outcome_has_a_colour_in_the_playground_and_in_the_cli():
    css = (ROOT / "functions" / "control" / "control" / "playground" / "style.css").read_text()
    coloured = set(re.findall(r"\.outcome\.([a-z_]+)", css))
    assert coloured == {o.value for o in Outcome}
    assert {o for o in Outcome} <= set(STYLE)


def test_an_attempt_reads_its_outcome_from_text_and_refuses_one_outside_the_enum():
    stored = Attempt.from_dict({"model": "tabular", "version": 3, "outcome": "rolled_back", "reason": "by hand",
                                "a_field_this_code_does_not_know": 1})
    assert stored.outcome is Outcome.ROLLED_BACK and stored.outcome == "rolled_back"
    with pytest.raises(ValueError, match="outcome must be one of promoted, canary, rejected, skipped, "
                                         "rolled_back, failed, got 'held'"):
        Attempt("tabular", 3, "held", "")


def test_the_final_outcomes_are_those_the_deployer_never_revisits():
    assert FINAL == {Outcome.PROMOTED, Outcome.CANARY, Outcome.REJECTED, Outcome.SKIPPED}
    assert {o for o in Outcome if o.serving} == {Outcome.PROMOTED, Outcome.CANARY}
    assert {o for o in Outcome if o.moved} == {Outcome.PROMOTED, Outcome.CANARY, Outcome.ROLLED_BACK}


def _attempt(version: int, outcome: str, actor: str = "upload", at: str = "2026-12-01T10:00:00Z") -> Attempt:
    return Attempt("tabular", version, outcome, f"{outcome} v{version}", actor=actor, created_at=at)


def test_the_wait_returns_the_uploads_first_final_decision_and_passes_over_the_rest():
    # GIVEN newest first: a rollback by hand, a failure the deployer retries, an older version's decision
    history = [_attempt(4, "rolled_back", actor="cli"), _attempt(4, "failed"), _attempt(3, "promoted")]
    looks = []

    def attempts() -> list[Attempt]:
        looks.append(1)
        if len(looks) == 3:  # the retry decides
            history.insert(0, _attempt(4, "rejected", at="2026-12-01T10:01:00Z"))
        return list(history)

    # WHEN waiting for version 4
    found = wait_for_decision(attempts, version=4, timeout=5, every=0.01)
    # THEN the retry's rejection is the answer, found on the third look
    assert found is not None and (found.version, found.outcome) == (4, Outcome.REJECTED) and len(looks) == 3


def test_the_wait_can_take_a_failure_as_the_answer_and_filters_by_time():
    history = [_attempt(4, "failed", at="2026-12-01T10:05:00Z"), _attempt(2, "promoted", at="2026-12-01T09:00:00Z")]
    assert wait_for_decision(lambda: history, version=4, outcomes=set(Outcome), timeout=0).outcome is Outcome.FAILED
    assert wait_for_decision(lambda: history, since="2026-12-01T10:00:00Z", timeout=0) is None
    assert wait_for_decision(lambda: history, since="2026-12-01T08:00:00Z", timeout=0).version == 2
