"""Text models users bring, added with `lepton add` and answering raw strings: a skl2onnx TF-IDF
pipeline (its graph reads strings) and a Keras attention model with its WordPiece tokenizer.json
(the function tokenizes). Every answer is what offline tokenization + onnxruntime give.

Each is published through the normal upload path into a moto bucket (model, tokenizer.json,
manifest last) and the function `lepton add` wrote runs in-process, reading them from S3.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from lepton.cli import main
from lepton.byom.memory import FLOOR_MB, Footprint
from lepton_deploy.admission import locale_uses
from onnx_models import run
from project_copy import snapshot
from bench.text_models import SENTIMENT_LABELS, SOURCES, TEXTS, offline


def texts_tensor(texts: list[str]) -> dict:
    return {"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}


# -------------------------------------------------------------------------------- scikit-learn TF-IDF
def test_a_tfidf_pipeline_answers_raw_strings_on_both_routes_as_onnxruntime(serve, text_models):
    # GIVEN a skl2onnx TfidfVectorizer + LogisticRegression, whose graph holds a com.microsoft Tokenizer
    data = text_models.tfidf.read_bytes()
    assert "com.microsoft" in {o.domain for o in onnx.load_model_from_string(data).opset_import}
    call = serve("reviews", data, labels=SENTIMENT_LABELS)
    expected = run(data, {"text": np.array(TEXTS, dtype=object)})

    # WHEN V2 sends the strings as a BYTES tensor, THEN the outputs are onnxruntime's
    status, body = call("POST", "/v2/models/reviews/infer", {"inputs": [texts_tensor(TEXTS)]})
    assert status == 200, body
    outputs = {o["name"]: o for o in body["outputs"]}
    np.testing.assert_allclose(outputs["probabilities"]["data"], expected["probabilities"].ravel(), rtol=1e-6)
    assert outputs["label"]["data"] == expected["label"].tolist()

    # AND the friendly route takes {"texts": [...]} and labels each answer
    status, body = call("POST", "/models/reviews/predict", {"texts": TEXTS})
    assert status == 200, body
    for entry, scores in zip(body["predictions"], expected["probabilities"]):
        assert entry["label"] == SENTIMENT_LABELS[int(scores.argmax())]
        assert list(entry["probabilities"].values()) == pytest.approx(scores.tolist(), rel=1e-6)
    status, one = call("POST", "/models/reviews/predict", {"text": TEXTS[1]})
    assert status == 200 and one["predictions"][0] == body["predictions"][1]


def test_a_pipeline_whose_locale_lambda_lacks_is_refused_with_the_exact_skl2onnx_option(project, text_models, capsys,
                                                                                      monkeypatch):
    # GIVEN the same pipeline as skl2onnx exports it by default: its StringNormalizer names no
    # locale, so onnxruntime uses en_US.UTF-8, which Lambda's python3.12 runtime does not have
    monkeypatch.chdir(project)
    before = snapshot(project)
    code = main(["add", "reviews", "--model", str(text_models.tfidf_default_locale), "--aws-port", "1"])
    text = " ".join(capsys.readouterr().err.split())
    # THEN it is refused, nothing written, with the option that fixes it and the consent flag
    assert code == 1
    assert "StringNormalizer node" in text and "onnxruntime uses 'en_US.UTF-8'" in text, text
    assert "which Lambda's python3.12 runtime does not have (it has C, C.UTF-8, POSIX)" in text
    assert 'options={id(vectorizer): {"locale": "C.UTF-8"}}' in text and "--fix-locale" in text
    assert snapshot(project) == before


def test_fix_locale_rewrites_it_with_consent_and_the_fixed_model_answers_as_onnxruntime(serve, text_models):
    data = text_models.tfidf_default_locale.read_bytes()
    call = serve("reviews", data, fix_locale=True)
    # The artifact is the fixed file: its StringNormalizer now names C.UTF-8, and add says so.
    fixed = (call.added["model"].data)
    assert [u.locale for u in locale_uses(onnx.load_model_from_string(fixed))] == ["C.UTF-8"]
    assert any("locale en_US.UTF-8 -> C.UTF-8 (--fix-locale)" in line for line in call.added["model"].summary())
    status, body = call("POST", "/models/reviews/predict", {"texts": TEXTS})
    assert status == 200
    expected = run(fixed, {"text": np.array(TEXTS, dtype=object)})
    np.testing.assert_allclose(body["predictions"][0]["probabilities"], expected["probabilities"][0], rtol=1e-6)


# ------------------------------------------------------------------ a transformer with its tokenizer.json
@pytest.fixture
def attention(serve, text_models):
    return serve("moods", text_models.attention.read_bytes(), tokenizer_path=text_models.tokenizer,
                 label_args=[f"sentiment={text_models.sentiment_labels}", f"source={text_models.source_labels}"])


def test_a_tokenizer_model_answers_texts_with_each_score_output_labelled_as_offline_tokenization(attention,
                                                                                                  text_models):
    expected = offline(text_models, TEXTS)
    status, body = attention("POST", "/models/moods/predict", {"texts": TEXTS})
    assert status == 200, body
    for row, entry in enumerate(body["predictions"]):
        for output, labels in (("sentiment", SENTIMENT_LABELS), ("source", SOURCES)):
            scores = expected[output][row]
            assert entry[output]["label"] == labels[int(scores.argmax())]
            assert list(entry[output]["probabilities"]) == labels
            np.testing.assert_allclose(list(entry[output]["probabilities"].values()), scores, rtol=1e-5, atol=1e-7)
    # The third text is longer than the model's 32 tokens: cut, and the answer says so.
    assert body["truncated"] == [2]
    assert int(expected["attention_mask"][2].sum()) == 32


def test_a_tokenizer_model_takes_v2_text_or_the_token_tensors_and_both_equal_onnxruntime(attention, text_models):
    expected = offline(text_models, TEXTS)
    status, by_text = attention("POST", "/v2/models/moods/infer", {"inputs": [texts_tensor(TEXTS)]})
    assert status == 200, by_text
    assert by_text["parameters"] == {"truncated": [2]}
    ids, mask = expected["input_ids"], expected["attention_mask"]
    status, by_tokens = attention("POST", "/v2/models/moods/infer", {"inputs": [
        {"name": "input_ids", "datatype": "INT64", "shape": list(ids.shape), "data": ids.ravel().tolist()},
        {"name": "attention_mask", "datatype": "INT64", "shape": list(mask.shape), "data": mask.ravel().tolist()}]})
    assert status == 200, by_tokens
    for body in (by_text, by_tokens):
        outputs = {o["name"]: o for o in body["outputs"]}
        for name in ("sentiment", "source"):
            assert outputs[name]["shape"] == list(expected[name].shape)
            np.testing.assert_allclose(outputs[name]["data"], expected[name].ravel(), rtol=1e-5, atol=1e-7)
    # the metadata is the graph's: stock clients send the token tensors
    status, meta = attention("GET", "/v2/models/moods")
    assert sorted(i["name"] for i in meta["inputs"]) == ["attention_mask", "input_ids"]


def test_a_tokenizer_model_refuses_texts_that_are_not_strings_and_text_beside_token_tensors_as_400(attention):
    status, body = attention("POST", "/models/moods/predict", {"texts": ["fine", 3]})
    assert status == 400 and "list of strings" in body["error"]
    status, body = attention("POST", "/v2/models/moods/infer", {"inputs": [
        texts_tensor(["fine"]), {"name": "input_ids", "datatype": "INT64", "shape": [1, 1], "data": [5]}]})
    assert status == 400 and body["error"].startswith("send either 'attention_mask' (INT64 [-1, -1]), 'input_ids'")
    assert body["error"].endswith("or 'text' (BYTES [-1]), not both")


def test_the_tokenizer_travels_pinned_in_the_manifest_and_the_artifact(attention, text_models, project):
    manifest = attention.manifest
    data = text_models.tokenizer.read_bytes()
    import hashlib

    assert (manifest.tokenizer.sha256, manifest.tokenizer.size, manifest.tokenizer.max_length) == (
        hashlib.sha256(data).hexdigest(), len(data), 32)
    assert manifest.output_labels == {"sentiment": SENTIMENT_LABELS, "source": SOURCES}
    artifact = project / ".lepton" / "artifacts" / "moods"
    assert (artifact / "tokenizer.json").read_bytes() == data
    # the golden example keeps the texts (the pre-traffic check sends them) and their ids (the gate runs them)
    golden = manifest.golden[0]
    assert golden.request[0]["name"] == "text" and set(golden.inputs) == {"input_ids", "attention_mask"}
    assert json.loads((artifact / "sample.json").read_text())["inputs"] == golden.request
    template = (project / "template.yaml").read_text()
    block = template[template.index("  MoodsFunction:"):template.index("  MoodsFunctionLogs:")]
    assert "Layers: [!Ref OnnxRuntimeLayer, !Ref ServingLayer, !Ref TokenizersLayer]" in block


def test_tokenizer_refusals_say_what_to_do(project, text_models, model_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(project)
    garbage = tmp_path / "tokenizer.json"
    garbage.write_text('{"version": "1.0", "model": {"type": "Nope"}}')
    cases = [
        (["--model", str(text_models.tfidf), "--tokenizer", str(text_models.tokenizer)],
         "a tokenizer fills the inputs input_ids and attention_mask", "serve this one without it"),
        (["--model", str(text_models.attention), "--tokenizer", str(garbage)],
         "is not a tokenizer the Hugging Face tokenizers library reads", "tokenizer.save('tokenizer.json')"),
    ]
    for args, reason, hint in cases:
        before = snapshot(project)
        assert main(["add", "moods", *args, "--aws-port", "1"]) == 1
        text = " ".join(capsys.readouterr().err.split())
        assert reason in text and hint in text, text
        assert snapshot(project) == before


# ------------------------------------------------------------------------------------------- memory
def test_the_default_memory_is_measured_and_written_to_the_template(serve, text_models, project):
    call = serve("reviews", text_models.tfidf.read_bytes())
    memory = call.added["memory_mb"]
    assert "measured session footprint" in call.added["memory"]
    parameter = project / "template.yaml"
    assert f"ReviewsMemory:\n    Type: Number\n    Default: {memory}\n" in parameter.read_text()
    assert memory >= FLOOR_MB and memory % 64 == 0


def test_memory_grows_with_the_measured_footprint_of_a_large_model():
    from lepton.byom.memory import measure
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4000, 6000), np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "big",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6000])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    data = model.SerializeToString()  # 96 MB of weights
    footprint = measure(data, {"x": np.ones((2, 4000), np.float32)})
    assert footprint is not None and footprint.session_mb > 96
    assert footprint.memory_mb > FLOOR_MB and footprint.memory_mb >= 1.5 * footprint.peak_mb
    small = Footprint(before_mb=40.0, peak_mb=90.0, model_bytes=60_000)
    assert small.memory_mb == FLOOR_MB
