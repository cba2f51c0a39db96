"""One table maps every domain error to its HTTP status, subclasses included."""
from __future__ import annotations

import pytest

from lepton_serving import errors, registry, rollout


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidRequest, 400),
        (errors.InvalidTensor, 400),
        (errors.LimitExceeded, 422),
        (errors.PayloadTooLarge, 413),
        (errors.UnsupportedMediaType, 415),
        (errors.NotFound, 404),
        (errors.ModelNotReady, 503),
        (errors.ModelIntegrityError, 503),
        (rollout.NothingToDo, 409),
        (rollout.DeploymentBusy, 409),
        (rollout.AliasConflict, 409),
        (rollout.Superseded, 409),
        (rollout.FunctionUpdateFailed, 502),
        (registry.PointerConflict, 409),
        (registry.RegistryError, 502),
    ],
)
def test_each_error_has_the_status_a_caller_can_act_on(error, status):
    assert errors.status_for(error("why")) == status


def test_anything_else_is_a_500():
    assert errors.status_for(RuntimeError("bug")) == 500


def test_rollout_errors_keep_the_outcome_the_deployer_records():
    assert rollout.NothingToDo("x").outcome == "skipped"
    assert rollout.DeploymentBusy("x").outcome == "failed"
