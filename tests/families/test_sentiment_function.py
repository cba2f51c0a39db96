"""The sentiment function end to end: events, text -> tokens -> onnxruntime, limits, bad input."""
from __future__ import annotations

import numpy as np
import pytest

import family_models as fm
from eventfiles import load_event
from family_harness import assert_refused, body_of, call, with_body

PREDICT = "sentiment/predict.json"
INFER = "sentiment/infer.json"
L = fm.SEQUENCE_LENGTH


def ids(*words: str) -> list[int]:
    """Token ids written out by hand from the vocabulary (1 = out of vocabulary), post-padded."""
    row = [fm.VOCABULARY.index(w) if w in fm.VOCABULARY else 1 for w in words][:L]
    return row + [0] * (L - len(row))


def onnxruntime_probabilities(rows: list[list[int]]) -> np.ndarray:
    return fm.run(fm.sentiment_model(), {"tokens": np.asarray(rows, dtype=np.int64)})["probabilities"]


def test_metadata_shows_the_public_text_input_not_the_graphs_tokens(sentiment):
    _, body = call(sentiment, load_event("sentiment/metadata.json"))
    assert body["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert body["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}]


def test_infer_tokenises_like_training_and_returns_onnxruntimes_output(sentiment):
    # GIVEN the event's two texts, tokenised by hand: lower-case, no punctuation, vocabulary ids
    assert body_of(INFER)["inputs"][0]["data"] == ["I loved this movie!", "The plot was boring and the acting awful."]
    tokens = [ids("i", "loved", "this", "movie"),
              ids("the", "plot", "was", "boring", "and", "the", "acting", "awful")]
    # WHEN served THEN the probabilities are onnxruntime's on those tokens
    code, body = call(sentiment, load_event(INFER))
    assert code == 200 and body["id"] == "req-1"
    (output,) = body["outputs"]
    assert (output["name"], output["shape"]) == ("probabilities", [2, 2])
    np.testing.assert_allclose(output["data"], onnxruntime_probabilities(tokens).ravel(), rtol=1e-6)


def test_predict_labels_each_text_with_onnxruntimes_answer(sentiment):
    texts = ["What a GREAT movie!!", "Awful... I hated the plot.", "It was not bad", "¿Café? ¡Café!"]
    tokens = [ids("what", "a", "great", "movie"), ids("awful", "i", "hated", "the", "plot"),
              ids("it", "was", "not", "bad"), ids("¿café", "¡café")]
    code, body = call(sentiment, with_body(PREDICT, {"texts": texts}))
    expected = onnxruntime_probabilities(tokens)
    assert code == 200 and body["model_name"] == "sentiment"
    for prediction, row in zip(body["predictions"], expected, strict=True):
        label = "positive" if row[1] > row[0] else "negative"
        assert prediction["label"] == label
        assert prediction["score"] == pytest.approx(float(max(row)), rel=1e-6)
        assert prediction["probabilities"] == pytest.approx({"negative": float(row[0]), "positive": float(row[1])})
    assert [p["label"] for p in body["predictions"][:2]] == ["positive", "negative"]


def test_a_text_longer_than_the_sequence_keeps_its_first_words(sentiment):
    # Keras truncates at the end: "awful" as word L+1 must change nothing.
    words = ["great"] + ["the"] * (L - 1)
    _, cut = call(sentiment, with_body(PREDICT, {"text": " ".join(words + ["awful"] * 5)}))
    _, exact = call(sentiment, with_body(PREDICT, {"text": " ".join(words)}))
    assert cut["predictions"] == exact["predictions"]
    expected = onnxruntime_probabilities([ids(*words)])[0]
    assert cut["predictions"][0]["probabilities"]["positive"] == pytest.approx(float(expected[1]), rel=1e-6)


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"text": ""}, 400, "the text is empty"),
        ({"text": " \t\n "}, 400, "the text is empty"),
        ({"text": "?!... ---"}, 400, "only punctuation and spaces"),
        ({"texts": ["fine", ""]}, 400, "text 1 is empty"),
        ({"text": "good " * 1001}, 422, "5005 characters; the limit is 5000"),
        ({"texts": ["good"] * 65}, 422, "65 texts is above this model's maximum of 64"),
        ({"texts": []}, 400, "at least one"),
        ({"text": 42}, 400, 'send {"text": "..."}'),
        ({"texts": ["ok", 3]}, 400, 'send {"text": "..."}'),
        ({"text": "a", "texts": ["b"]}, 400, 'send {"text": "..."}'),
        ({"sentence": "hello"}, 400, 'send {"text": "..."}'),
        ("not json", 400, "not valid JSON"),
    ],
)
def test_bad_friendly_requests_get_a_clear_4xx(sentiment, payload, status, fragment):
    code, body = call(sentiment, with_body(PREDICT, payload))
    assert_refused(code, body, status, fragment)


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        ({"name": "tokens", "shape": [1, L], "datatype": "INT64", "data": [ids("good")]}, 400, "unknown input 'tokens'"),
        ({"name": "text", "shape": [1], "datatype": "INT64", "data": [3]}, 400, "datatype BYTES"),
        ({"name": "text", "shape": [1], "datatype": "BYTES", "data": [3]}, 400, "BYTES data must be strings"),
        ({"name": "text", "shape": [1, 1], "datatype": "BYTES", "data": [["good"]]}, 400, "shape [-1]"),
        ({"name": "text", "shape": [1], "datatype": "BYTES", "data": [""]}, 400, "the text is empty"),
        ({"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x" * 5001]}, 422, "limit is 5000"),
        ({"name": "text", "shape": [65], "datatype": "BYTES", "data": ["good"] * 65}, 422, "maximum of 64"),
    ],
)
def test_bad_v2_requests_get_a_clear_4xx(sentiment, tensor, status, fragment):
    code, body = call(sentiment, with_body(INFER, {"inputs": [tensor]}))
    assert_refused(code, body, status, fragment)


def test_a_manifest_whose_sequence_length_disagrees_with_the_graph_is_refused_at_load(serve_version):
    # GIVEN a graph taking 12 tokens but a manifest saying 20
    from sentiment.handler import lambda_handler

    manifest = fm.sentiment_manifest(version=2)
    manifest.preprocessing = fm.sentiment_preprocessing(fm.VOCABULARY, length=20)
    handler = serve_version(lambda_handler, manifest, fm.sentiment_model())
    # WHEN asked THEN the function is not ready and says why, rather than feeding the wrong shape
    code, body = call(handler, load_event(PREDICT))
    assert code == 503
    assert "does not take [batch, 20] token ids" in body["error"]
