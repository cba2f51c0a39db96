"""One table maps every domain error to its HTTP status, subclasses included."""
from __future__ import annotations

import pytest

from lepton_deploy import errors as deploy_errors
from lepton_serving import errors
from lepton_serving.table import TableError


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidRequest, 400),
        (errors.InvalidTensor, 400),
        (errors.LimitExceeded, 422),
        (errors.PayloadTooLarge, 413),
        (errors.UnsupportedMediaType, 415),
        (errors.SchemaViolation, 422),
        (errors.NotFound, 404),
        (errors.MethodNotAllowed, 405),
        (errors.ConfigError, 500),
        (errors.ModelNotReady, 503),
        (errors.ModelIntegrityError, 503),
        (errors.ObjectMissing, 503),
        (errors.StorageUnavailable, 503),
        (deploy_errors.NothingToDo, 409),
        (deploy_errors.DeploymentBusy, 409),
        (deploy_errors.AliasConflict, 409),
        (deploy_errors.Superseded, 409),
        (deploy_errors.FunctionUpdateFailed, 502),
        (deploy_errors.PointerConflict, 409),
        (TableError, 502),
    ],
)
def test_each_error_has_the_status_a_caller_can_act_on(error, status):
    assert errors.status_for(error("why")) == status


def test_anything_else_is_a_500():
    assert errors.status_for(RuntimeError("bug")) == 500


def test_rollout_errors_keep_the_outcome_the_deployer_records():
    assert deploy_errors.NothingToDo("x").outcome == "skipped"
    assert deploy_errors.DeploymentBusy("x").outcome == "failed"
