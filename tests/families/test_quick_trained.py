"""The real models: quick-trained by lepton_training, served, and their manifest goldens reproduced.

Quick training imports TensorFlow and takes about a minute for the three families; the
artifacts are kept in pytest's cache until training/ changes (trained_models.py). A training
failure is a test failure, never a skip.
"""
from __future__ import annotations


import numpy as np
import pytest

from family_harness import call, with_body
from lepton_serving.manifest import Manifest
from trained_models import artifact_cache, trained


@pytest.fixture(scope="module")
def quick_model(request, tmp_path_factory):
    out = artifact_cache(request, tmp_path_factory, "lepton-quick-models")

    def _train(family: str) -> tuple[Manifest, bytes]:
        # A training failure fails these tests: the models users serve come from this package.
        folder = trained(out, family, quick=True)
        return Manifest.from_json((folder / "manifest.json").read_text()), (folder / "model.onnx").read_bytes()

    return _train


def serve(serve_version, quick_model, family: str):
    from importlib import import_module

    manifest, model_bytes = quick_model(family)
    assert manifest.golden, "a trained manifest carries golden examples"
    return serve_version(import_module(f"{family}.handler").lambda_handler, manifest, model_bytes), manifest


def infer(handler, family: str, tensor: dict) -> list[float]:
    code, body = call(handler, with_body(f"{family}/infer.json", {"inputs": [tensor]}))
    assert code == 200, body
    return body["outputs"][0]["data"]


def test_the_quick_digits_model_reproduces_its_goldens_on_both_routes(serve_version, quick_model):
    handler, manifest = serve(serve_version, quick_model, "digits")
    for golden in manifest.golden:
        image = golden.inputs["image"]
        expected = np.ravel(golden.outputs["probabilities"])
        got = infer(handler, "digits", {"name": "image", "datatype": "FP32", "shape": [1, 8, 8], "data": image})
        np.testing.assert_allclose(got, expected, atol=manifest.golden_tolerance)
        code, body = call(handler, with_body("digits/predict-pixels.json", {"pixels": image[0]}))
        assert code == 200
        np.testing.assert_allclose(body["predictions"][0]["probabilities"], expected, atol=manifest.golden_tolerance)
        assert body["predictions"][0]["digit"] == int(np.argmax(expected))


def as_text(tokens: list[int], vocabulary: list[str]) -> str:
    """Golden token ids back to a text that tokenises to them (an unseen word stands for [UNK])."""
    unknown = "zzzunseen"
    while unknown in vocabulary:
        unknown += "z"
    return " ".join(unknown if t == 1 else vocabulary[t] for t in tokens if t != 0)


def test_the_quick_sentiment_model_reproduces_its_goldens_from_text(serve_version, quick_model):
    handler, manifest = serve(serve_version, quick_model, "sentiment")
    vocabulary = manifest.preprocessing["vocabulary"]
    from lepton_serving.vectorizer import Tokenizer

    tokenizer = Tokenizer.from_preprocessing(manifest.preprocessing)
    for golden in manifest.golden:
        (tokens,) = golden.inputs["tokens"]
        text = as_text(tokens, vocabulary)
        assert tokenizer.encode(text) == tokens  # the text really stands for the golden ids
        got = infer(handler, "sentiment", {"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]})
        np.testing.assert_allclose(got, np.ravel(golden.outputs["probabilities"]), atol=manifest.golden_tolerance)


def test_the_quick_recommender_model_reproduces_its_goldens_and_ranks_them(serve_version, quick_model):
    handler, manifest = serve(serve_version, quick_model, "recommender")
    for golden in manifest.golden:
        users = golden.inputs["user_id"]
        expected = np.ravel(golden.outputs["scores"])
        got = infer(handler, "recommender", {"name": "user_id", "datatype": "INT64", "shape": [len(users)],
                                             "data": users})
        np.testing.assert_allclose(got, expected, atol=manifest.golden_tolerance)
        code, body = call(handler, with_body("recommender/predict.json", {"user_id": users[0], "k": 5}))
        assert code == 200
        top = sorted(range(len(expected)), key=lambda i: (-expected[i], i))[:5]
        returned = [i["item_id"] for i in body["recommendations"][0]["items"]]
        # Equal up to near-ties within the golden tolerance.
        assert returned == top or np.allclose(expected[returned], expected[top], atol=manifest.golden_tolerance)


def test_the_quick_generator_reproduces_its_goldens_and_draws_the_images_its_seeds_name(serve_version, quick_model):
    handler, manifest = serve(serve_version, quick_model, "generator")
    latent = manifest.preprocessing["latent_dim"]
    for golden in manifest.golden:
        z, label = golden.inputs["z"], golden.inputs["label"]
        code, body = call(handler, with_body("generator/infer.json", {"inputs": [
            {"name": "z", "datatype": "FP32", "shape": [1, latent], "data": z},
            {"name": "label", "datatype": "INT64", "shape": [1], "data": label}]}))
        assert code == 200, body
        np.testing.assert_allclose(body["outputs"][0]["data"], np.ravel(golden.outputs["image"]),
                                   atol=manifest.golden_tolerance)
    # The friendly route draws the evaluation's images from the seed the manifest names for a digit.
    import onnxruntime as ort

    seed = manifest.preprocessing["evaluation"]["eval_seed"] + 3
    code, body = call(handler, with_body("generator/predict.json", {"digit": 3, "count": 5, "seed": seed}))
    z = np.random.default_rng(seed).standard_normal((5, latent), dtype=np.float32)
    session = ort.InferenceSession(quick_model("generator")[1])
    expected = session.run(None, {"z": z, "label": np.full(5, 3, np.int64)})[0]
    assert code == 200
    np.testing.assert_allclose([image["pixels"] for image in body["images"]], expected, atol=1e-6)
