"""Every events/ file of the model families through its handler, with the status its case expects."""
from __future__ import annotations

import pytest

from eventfiles import EVENTS, load_event
from family_harness import call

EXPECTED = {
    "digits": {
        "infer.json": 200,
        "infer-bad-range.json": 400,
        "metadata.json": 200,
        "ready.json": 200,
        "predict-image.json": 200,
        "predict-pixels.json": 200,
        "predict-instances.json": 200,
        "predict-bad-base64.json": 400,
        "predict-not-an-image.json": 400,
    },
    "sentiment": {
        "infer.json": 200,
        "infer-wrong-datatype.json": 400,
        "metadata.json": 200,
        "ready.json": 200,
        "predict.json": 200,
        "predict-batch.json": 200,
        "predict-empty.json": 400,
    },
    "recommender": {
        "infer.json": 200,
        "infer-unknown-user.json": 400,
        "metadata.json": 200,
        "ready.json": 200,
        "predict.json": 200,
        "predict-users.json": 200,
        "predict-unknown-user.json": 400,
        "predict-k-too-large.json": 422,
    },
    "generator": {
        "infer.json": 200,
        "infer-bad-label.json": 400,
        "infer-wrong-latent.json": 400,
        "metadata.json": 200,
        "ready.json": 200,
        "predict.json": 200,
        "predict-no-seed.json": 200,
        "predict-bad-digit.json": 400,
        "predict-count-too-large.json": 422,
        "predict-bad-seed.json": 400,
    },
}


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_every_event_file_has_a_case(family):
    assert {p.name for p in (EVENTS / family).glob("*.json")} == set(EXPECTED[family])


@pytest.mark.parametrize(("family", "name", "status"),
                         [(f, n, s) for f, cases in sorted(EXPECTED.items()) for n, s in sorted(cases.items())])
def test_event_file_gets_its_expected_status(request, family, name, status):
    handler = request.getfixturevalue(family)  # the family's handler fixture (conftest.py)
    code, body = call(handler, load_event(f"{family}/{name}"))
    assert code == status, body
    if status >= 400:
        assert body["error"] and "Traceback" not in body["error"]
