"""Each model's friendly route gets the request schema of its own JSON shape
(control/friendly_schemas.py), its limits the model classes' own. The fuzzer holds the running
API to these schemas (tests/fuzz); here they are checked against the families' code and the
requests a shared schema used to get wrong."""
from __future__ import annotations

import jsonschema
import pytest

import family_models as fm
from control.friendly_schemas import DEFAULT_MAX_ROWS, MAX_ROWS, MAX_TEXT, RECOMMENDER_MAX_K, SEED_MAX, friendly_schema
from onnx_models import manifest_for, mlp_model


def valid(schema: dict, body: object) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(body)


MANIFESTS = {
    "tabular": lambda: manifest_for(mlp_model(0).SerializeToString(), "tabular", 1),
    "digits": fm.digits_manifest, "sentiment": fm.sentiment_manifest, "recommender": fm.recommender_manifest,
    "generator": fm.generator_manifest, "churn": fm.churn_manifest,
}


def test_the_limits_are_the_model_classes_own():
    from digits.model import DigitsModel
    from generator.model import GeneratorModel
    from generator.sampling import MAX_SEED
    from lepton_serving.model import Model
    from recommender.model import MAX_K, RecommenderModel
    from sentiment.model import MAX_CHARACTERS, SentimentModel
    from tabular.model import TabularModel

    assert MAX_ROWS == {"digits": DigitsModel.max_batch}
    assert {DEFAULT_MAX_ROWS} == {Model.max_batch, TabularModel.max_batch, SentimentModel.max_batch,
                                  RecommenderModel.max_batch, GeneratorModel.max_batch}
    assert (MAX_TEXT, RECOMMENDER_MAX_K, SEED_MAX) == (MAX_CHARACTERS, MAX_K, MAX_SEED)


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_every_schema_is_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(friendly_schema(name, MANIFESTS[name]()))


def test_the_generators_request_is_the_generators_alone():
    # One schema served every model, with the generator's example in it: schema-valid for digits.
    body = {"digit": 3, "count": 4, "seed": 7}
    assert valid(friendly_schema("generator", fm.generator_manifest()), body)
    assert not valid(friendly_schema("digits", fm.digits_manifest()), body)


@pytest.mark.parametrize(("name", "body", "ok"), [
    ("tabular", {"instances": [[13.0, 0.12, 22.0]]}, True),
    ("tabular", {"instances": [{"worst radius": 1, "worst smoothness": 2, "worst texture": 3}]}, True),
    ("tabular", {"instances": [[1.0, 2.0]]}, False),
    ("tabular", {"instances": [[1e39, 0, 0]]}, False),  # infinite in FP32
    ("tabular", {"instances": [[3.4028235677973366e38, 0, 0]]}, False),  # rounds to infinity
    ("tabular", {"instances": [[3.4028235677973362e38, 0, 0]]}, True),  # rounds to the largest finite FP32
    ("digits", {"pixels": [[0] * 8] * 8, "k": 3}, True),
    ("digits", {"pixels": [[0] * 8] * 8, "image": "x"}, False),  # exactly one form
    ("digits", {"pixels": [[17] * 8] * 8}, False),
    ("digits", {"k": 3}, False),
    ("sentiment", {"text": "loved it"}, True),
    ("sentiment", {"text": "?! ..."}, False),  # no word left once punctuation goes
    ("sentiment", {"text": "x" * (MAX_TEXT + 1)}, False),
    ("sentiment", {"text": "a", "texts": ["b"]}, False),
    ("recommender", {"user_ids": [0, fm.NUM_USERS - 1], "k": 5, "exclude": [1]}, True),
    ("recommender", {"user_id": fm.NUM_USERS}, False),
    ("recommender", {"user_id": 1, "user_ids": "x"}, False),
    ("recommender", {"user_id": 1, "k": fm.NUM_ITEMS + 1}, False),
    ("generator", {"digit": 9, "count": 64, "seed": SEED_MAX}, True),
    ("generator", {"digit": 2, "seed": None}, True),
    ("generator", {"digit": 10}, False),
    ("generator", {"digit": 1, "colour": "red"}, False),
    ("churn", {"instances": [{"customer_id": 3, "usage": [0.5, 1.0]}]}, True),
    ("churn", {"instances": [{"customer_id": 3}]}, False),
])
def test_each_schema_takes_what_its_function_takes_and_refuses_what_it_refuses(name, body, ok):
    assert valid(friendly_schema(name, MANIFESTS[name]()), body) is ok


@pytest.mark.parametrize(("name", "body"), [
    ("tabular", {"instances": [[13.0, 0.12, 22.0], {"worst radius": 1, "worst smoothness": 2, "worst texture": 3}]}),
    ("digits", {"pixels": [[16] * 8] * 8, "k": 10}),
    ("sentiment", {"texts": ["\x00", "é", "loved it"]}),
    ("recommender", {"user_id": 7, "k": 40, "exclude": list(range(39))}),
    ("generator", {"digit": 0, "count": 1, "seed": 0}),
    ("churn", {"instances": [{"customer_id": 0, "usage": [3.4028235677973362e38, -3.4e38]}]}),
    ("generator", {"digit": 2, "seed": None}),
])
def test_a_request_valid_by_its_schema_is_answered_by_its_function(request, name, body):
    import json

    from family_harness import with_body

    handler = request.getfixturevalue(name)
    assert valid(friendly_schema(name, handler.manifest), body)
    event = with_body("tabular/predict.json", body)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/models/{name}/predict"
    answer = handler(event, None)
    assert answer["statusCode"] == 200, json.loads(answer["body"])
