"""Property: whatever a caller sends, no route of any model function answers 5xx.

Hypothesis tries, on every family's function and on an added model (churn, the generic Model
with an embedding): arbitrary body bytes and header strings on every route; byte mutations of
valid PNG and JPEG files on the digits route; and arbitrary values for every declared input
(out-of-range ids, NaN, extreme magnitudes, empty and long strings) on both inference routes.
Each run draws fresh examples (Hypothesis prints the seed of a failure, and `--hypothesis-seed`
replays it); the example counts are bounded so `make test` stays within its budget. Each
module's tally of cases and 5xx per route is printed at its end (`pytest -s`).
"""
from __future__ import annotations

import base64
import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
from eventfiles import load_event
from lepton.local.context import LambdaContext

FAMILIES = ("tabular", "digits", "sentiment", "recommender", "generator", "churn")
#: Examples per test and family: about 1,500 requests in all, 20-40 s on 2 cores.
EXAMPLES = 60
BOUNDED = settings(max_examples=EXAMPLES, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ROUTES = (
    ("GET", "/v2/health/live"), ("GET", "/v2/health/ready"), ("GET", "/v2/models/{m}"),
    ("GET", "/v2/models/{m}/versions/{v}"), ("GET", "/v2/models/{m}/ready"), ("GET", "/v2/models/{m}/versions/{v}/ready"),
    ("POST", "/v2/models/{m}/infer"), ("POST", "/v2/models/{m}/versions/{v}/infer"), ("POST", "/models/{m}/predict"),
)

#: Inference routes weigh three times as much: they read the most.
WEIGHTED_ROUTES = ROUTES + tuple(r for r in ROUTES if r[0] == "POST") * 2

tally: Counter[tuple[str, str]] = Counter()
statuses: dict[tuple[str, str], Counter[str]] = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    print("\nhostile cases per route: cases, 5xx, and the answers")
    for key in sorted(tally):
        seen = statuses[key]
        fives = sum(n for status, n in seen.items() if status.startswith("5"))
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(seen.items()))
        print(f"  {key[0]:<6} {key[1]:<44} {tally[key]:>6} {fives:>4}   {shown}")


def ask(handler, family: str, method: str, route: str, body: bytes | str | None = None,
        headers: dict[str, str] | None = None, base64_encoded: bool = False, model: str | None = None,
        version: str = "1") -> int:
    """One request as API Gateway delivers it; the status, counted against its route."""
    path = route.format(m=model if model is not None else family, v=version)
    event = load_event("tabular/ready.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["headers"] = {**event["headers"], **(headers or {})}
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if base64_encoded and isinstance(body, bytes) else (
            body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
        event["isBase64Encoded"] = base64_encoded
    status = handler(event, LambdaContext(family))["statusCode"]
    key = (method, route.replace("{m}", family))
    tally[key] += 1
    statuses.setdefault(key, Counter())[str(status)] += 1
    return status


# -- raw bytes and header strings on every route ------------------------------------------------
HEADER_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "--5", "٣", "+5", " 5 ", "1_0", "0x10", "-0", "", "9" * 30, "NaN", "1e3", "\u00a05"]),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)
CONTENT_TYPES = st.one_of(st.sampled_from(["application/json", "application/octet-stream", "text/plain",
                                           "application/x-www-form-urlencoded", "application/json; charset=utf-7",
                                           "image/png", ""]), st.text(max_size=30))


@pytest.mark.parametrize("family", FAMILIES)
@BOUNDED
@given(route=st.sampled_from(WEIGHTED_ROUTES), body=st.one_of(st.none(), st.binary(max_size=600), st.text(max_size=300)),
       base64_encoded=st.booleans(), length=st.one_of(st.none(), HEADER_TEXT), content_type=CONTENT_TYPES,
       model=st.one_of(st.none(), st.text(min_size=1, max_size=12)), version=HEADER_TEXT)
def test_no_body_or_header_makes_any_route_answer_5xx(request, family, route, body, base64_encoded, length,
                                                      content_type, model, version):
    handler = request.getfixturevalue(family)
    headers = {"content-type": content_type}
    if length is not None:
        headers["inference-header-content-length"] = length
    assert ask(handler, family, route[0], route[1], body, headers, base64_encoded, model, version) < 500


def _json_values() -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.text(max_size=10), inner, max_size=4), max_leaves=20)


#: Every key a friendly route or the V2 protocol reads, so arbitrary JSON reaches each form.
KEYS = ("instances", "inputs", "outputs", "parameters", "id", "image", "images", "pixels", "k", "text", "texts",
        "user_id", "user_ids", "exclude", "digit", "count", "seed", "name", "shape", "datatype", "data")


@pytest.mark.parametrize("family", FAMILIES)
@BOUNDED
@given(route=st.sampled_from([r for r in ROUTES if r[0] == "POST"]),
       doc=st.dictionaries(st.sampled_from(KEYS), _json_values(), max_size=5))
def test_no_json_of_any_shape_makes_an_inference_route_answer_5xx(request, family, route, doc):
    handler = request.getfixturevalue(family)
    assert ask(handler, family, *route, json.dumps(doc), {"content-type": "application/json"}) < 500


# -- byte mutations of valid images ------------------------------------------------------------
def _mutated(original: bytes) -> st.SearchStrategy[bytes]:
    position = st.integers(min_value=0, max_value=len(original) - 1)
    flip = st.tuples(position, st.integers(min_value=0, max_value=255)).map(
        lambda m: original[:m[0]] + bytes([m[1]]) + original[m[0] + 1:])
    cut = position.map(lambda p: original[:p])
    insert = st.tuples(position, st.binary(min_size=1, max_size=16)).map(
        lambda m: original[:m[0]] + m[1] + original[m[0]:])
    delete = st.tuples(position, st.integers(min_value=1, max_value=16)).map(
        lambda m: original[:m[0]] + original[m[0] + m[1]:])
    one = st.one_of(flip, cut, insert, delete)
    return st.lists(one, min_size=1, max_size=3).map(lambda changes: changes[-1])


@settings(BOUNDED, max_examples=EXAMPLES * 2)
@given(data=st.one_of(_mutated(hostile.png()), _mutated(hostile.jpeg())), several=st.booleans())
def test_no_mutation_of_a_png_or_jpeg_makes_digits_answer_5xx(digits, data, several):
    image = base64.b64encode(data).decode()
    doc = {"images": [base64.b64encode(hostile.png()).decode(), image]} if several else {"image": image}
    assert ask(digits, "digits", "POST", "/models/{m}/predict", json.dumps(doc)) < 500


# -- arbitrary values for every declared input ---------------------------------------------------
_FLOATS = st.one_of(st.floats(width=32, allow_nan=True, allow_infinity=True), st.floats(), st.sampled_from(
    [0.0, -0.0, 1e-45, 3.4e38, -3.5e38, 1e308, float("nan")]))
_INTS = st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.integers(min_value=-100, max_value=100),
                  st.sampled_from([2**63, -(2**63) - 1, 10**30]))
_STRINGS = st.one_of(st.text(max_size=50), st.just(""), st.text(min_size=4900, max_size=5100),
                     st.sampled_from(["   ", "!!!", "\x00", "🙂" * 10, "the movie was great"]))
VALUES = {"FP32": _FLOATS, "FP64": _FLOATS, "FP16": _FLOATS, "INT64": _INTS, "INT32": _INTS, "BYTES": _STRINGS,
          "BOOL": st.booleans()}


@st.composite
def v2_inputs(draw, specs) -> list[dict]:
    """One tensor per declared input, well formed (so it reaches the model), values arbitrary."""
    batch = draw(st.integers(min_value=1, max_value=3))
    tensors = []
    for spec in specs:
        shape = [batch, *[d if d >= 0 else draw(st.integers(min_value=1, max_value=4)) for d in spec.shape[1:]]]
        count = 1
        for d in shape:
            count *= d
        values = draw(st.lists(VALUES[spec.datatype], min_size=count, max_size=count))
        tensors.append({"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": values})
    return tensors


def _plain(value):
    """A JSON-safe value: NaN and infinity as JSON has them not, so as numbers out of any range."""
    if isinstance(value, float) and value != value:
        return 1e400  # json.dumps writes Infinity; orjson rejects it: the 400 path
    return value


@pytest.mark.parametrize("family", FAMILIES)
@BOUNDED
@given(data=st.data(), versioned=st.booleans())
def test_no_value_of_any_declared_input_makes_v2_infer_answer_5xx(request, family, data, versioned):
    handler = request.getfixturevalue(family)
    tensors = data.draw(v2_inputs(handler.plane.load().inputs))
    route = "/v2/models/{m}/versions/{v}/infer" if versioned else "/v2/models/{m}/infer"
    body = json.dumps({"inputs": tensors}, default=str)
    assert ask(handler, family, "POST", route, body, {"content-type": "application/json"}) < 500


@pytest.mark.parametrize("family", FAMILIES)
@BOUNDED
@given(data=st.data())
def test_no_value_of_any_declared_input_makes_the_friendly_route_answer_5xx(request, family, data):
    handler = request.getfixturevalue(family)
    tensors = data.draw(v2_inputs(handler.plane.load().inputs))
    rows = {t["name"]: _rows(t) for t in tensors}
    # The generic rows form, and each family's own names for the same values.
    doc = rows[next(iter(rows))] if len(rows) == 1 else None
    forms = [{"instances": doc} if doc is not None else {"inputs": rows},
             {"pixels": doc[0]} if family == "digits" else {"texts": doc} if family == "sentiment" else
             {"user_ids": doc, "k": data.draw(_INTS), "exclude": data.draw(st.lists(_INTS, max_size=3))}
             if family == "recommender" else {"digit": data.draw(_INTS), "count": data.draw(_INTS),
                                              "seed": data.draw(_INTS | _FLOATS)} if family == "generator"
             else {"instances": doc} if doc is not None else {"inputs": rows}]
    for form in forms:
        body = json.dumps(form, default=str)
        assert ask(handler, family, "POST", "/models/{m}/predict", body, {"content-type": "application/json"}) < 500


def _rows(tensor: dict) -> list:
    import numpy as np

    values = np.array(tensor["data"], dtype=object).reshape(tensor["shape"])
    return values.tolist()
