"""Small real ONNX models for the digits, sentiment, recommender and generator contracts, with manifests.

Built with the onnx helper API (no TensorFlow). Each satisfies its family's contract exactly:
input/output names, datatypes and shapes, and the manifest's preprocessing block.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from lepton_serving.manifest import GoldenExample, Manifest, TensorSpec

SEQUENCE_LENGTH = 12
NUM_USERS, NUM_ITEMS, FACTORS = 50, 40, 8
LATENT_DIM = 32  # as the trained generator: the events/ files run against both
#: A real (small) vocabulary in TextVectorization.get_vocabulary() order.
VOCABULARY = ["", "[UNK]", "the", "movie", "was", "good", "bad", "great", "awful", "not", "i", "it",
              "loved", "hated", "plot", "acting", "and", "a", "boring", "fun", "dont", "café"]
_POLARITY = {"good": 1.0, "great": 1.5, "loved": 1.5, "fun": 1.0, "bad": -1.0, "awful": -1.5,
             "hated": -1.5, "boring": -1.0}


def _model(nodes: list, name: str, inputs: list, outputs: list, weights: dict[str, np.ndarray]) -> bytes:
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lepton-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


@cache
def digits_weights() -> tuple[np.ndarray, np.ndarray]:
    """A ridge-regression classifier fitted on sklearn's digits: a trained-like model, in a second."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = np.hstack([data.images.reshape(-1, 64) / 16.0, np.ones((len(data.images), 1))])
    y = np.eye(10)[data.target]
    w = np.linalg.solve(x.T @ x + 1e-1 * np.eye(65), x.T @ y) * 8.0  # sharpen the softmax
    return w[:64].astype(np.float32), w[64].astype(np.float32)


@cache
def digits_model() -> bytes:
    """image FP32 [-1, 8, 8] on the raw 0..16 scale -> probabilities FP32 [-1, 10]; scaling in-graph."""
    w, b = digits_weights()
    nodes = [
        helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
        helper.make_node("Mul", ["flat", "scale"], ["scaled"]),
        helper.make_node("MatMul", ["scaled", "W"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["z1"]),
        helper.make_node("Softmax", ["z1"], ["probabilities"], axis=-1),
    ]
    return _model(
        nodes, "digits",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        {"flat_shape": np.array([-1, 64], np.int64), "scale": np.array(1 / 16, np.float32), "W": w, "b": b},
    )


@cache
def sentiment_model(vocab_size: int = len(VOCABULARY), length: int = SEQUENCE_LENGTH, seed: int = 1) -> bytes:
    """tokens INT64 [-1, L] -> Gather(embedding) -> ReduceMean over L -> MatMul -> Softmax [-1, 2]."""
    rng = np.random.default_rng(seed)
    embedding = rng.normal(scale=0.3, size=(vocab_size, 4)).astype(np.float32)
    for word, polarity in _POLARITY.items():  # dimension 0 carries sentiment, so answers are sensible
        if word in VOCABULARY[:vocab_size]:
            embedding[VOCABULARY.index(word), 0] = polarity * length / 2
    weights = np.array([[-1.0, 1.0], *rng.normal(scale=0.5, size=(3, 2))], np.float32)
    nodes = [
        helper.make_node("Gather", ["embedding", "tokens"], ["vectors"], axis=0),
        helper.make_node("ReduceMean", ["vectors"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["mean", "W"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["z1"]),
        helper.make_node("Softmax", ["z1"], ["probabilities"], axis=-1),
    ]
    return _model(
        nodes, "sentiment",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", length])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        {"embedding": embedding, "W": weights, "b": np.array([0.05, -0.05], np.float32)},
    )


@cache
def recommender_model(num_users: int = NUM_USERS, num_items: int = NUM_ITEMS, seed: int = 2) -> bytes:
    """user_id INT64 [-1] -> Gather(user factors) . item factors^T + item bias -> scores [-1, items]."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Gather", ["user_factors", "user_id"], ["user_vector"], axis=0),
        helper.make_node("MatMul", ["user_vector", "item_factors_t"], ["dots"]),
        helper.make_node("Add", ["dots", "item_bias"], ["scores"]),
    ]
    return _model(
        nodes, "recommender",
        [helper.make_tensor_value_info("user_id", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", num_items])],
        {"user_factors": rng.normal(size=(num_users, FACTORS)).astype(np.float32),
         "item_factors_t": rng.normal(size=(FACTORS, num_items)).astype(np.float32),
         "item_bias": rng.normal(scale=0.1, size=(num_items,)).astype(np.float32)},
    )


@cache
def generator_model(latent_dim: int = LATENT_DIM, seed: int = 3) -> bytes:
    """z FP32 [-1, L], label INT64 [-1] -> image FP32 [-1, 8, 8]: the class's mean training image
    plus a linear function of z, clipped to 0..16. Not a GAN, but images of the asked digit."""
    from sklearn.datasets import load_digits

    data = load_digits()
    means = np.stack([data.images[data.target == d].mean(axis=0).ravel() for d in range(10)]).astype(np.float32)
    jitter = np.random.default_rng(seed).normal(scale=1.5 / np.sqrt(latent_dim), size=(latent_dim, 64))
    nodes = [
        helper.make_node("Gather", ["means", "label"], ["mean"], axis=0),
        helper.make_node("MatMul", ["z", "jitter"], ["noise"]),
        helper.make_node("Add", ["mean", "noise"], ["raw"]),
        helper.make_node("Clip", ["raw", "low", "high"], ["clipped"]),
        helper.make_node("Reshape", ["clipped", "image_shape"], ["image"]),
    ]
    return _model(
        nodes, "generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 8, 8])],
        {"means": means, "jitter": jitter.astype(np.float32), "low": np.array(0.0, np.float32),
         "high": np.array(16.0, np.float32), "image_shape": np.array([-1, 8, 8], np.int64)},
    )


CUSTOMERS = 20


@cache
def churn_model(customers: int = CUSTOMERS, seed: int = 4) -> bytes:
    """A model as `lepton add` serves one, with an embedding: customer_id INT64 [-1] looked up in a
    table (Gather) beside usage FP32 [-1, 2] -> churn probabilities FP32 [-1, 2]. Nothing checks the
    ids before onnxruntime: the generic Model has no idea what a customer is."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Gather", ["customer_vectors", "customer_id"], ["customer"], axis=0),
        helper.make_node("Concat", ["customer", "usage"], ["joined"], axis=1),
        helper.make_node("MatMul", ["joined", "W"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["churn"], axis=-1),
    ]
    return _model(
        nodes, "churn",
        [helper.make_tensor_value_info("customer_id", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("usage", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("churn", TensorProto.FLOAT, ["batch", 2])],
        {"customer_vectors": rng.normal(size=(customers, 4)).astype(np.float32),
         "W": rng.normal(size=(6, 2)).astype(np.float32)},
    )


def churn_manifest(model_bytes: bytes | None = None, version: int = 1) -> Manifest:
    golden = [{"customer_id": np.array([i], np.int64), "usage": np.array([[0.5, float(i)]], np.float32)}
              for i in (0, 7, CUSTOMERS - 1)]
    return manifest(model_bytes or churn_model(), "churn", {}, ["stays", "leaves"], golden, version)


def run(model_bytes: bytes, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What a direct onnxruntime run gives: the reference every handler answer is compared to."""
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))


_ELEM = {TensorProto.FLOAT: "FP32", TensorProto.INT64: "INT64"}


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return TensorSpec(value.name, _ELEM[tensor.elem_type], shape)


def manifest(model_bytes: bytes, name: str, preprocessing: dict[str, Any], labels: list[str] | None,
             golden_inputs: list[np.ndarray | dict[str, np.ndarray]], version: int = 1) -> Manifest:
    """A manifest the way training writes one: signature read from the graph, goldens from onnxruntime.
    A golden input is the only input's array, or a dict of arrays by input name."""
    proto = onnx.load_model_from_string(model_bytes)
    inputs, outputs = [_spec(v) for v in proto.graph.input], [_spec(v) for v in proto.graph.output]
    feeds = [x if isinstance(x, dict) else {inputs[0].name: x} for x in golden_inputs]
    golden = [GoldenExample({k: v.tolist() for k, v in feed.items()},
                            {k: v.tolist() for k, v in run(model_bytes, feed).items()})
              for feed in feeds]
    return Manifest(
        name=name, version=version, sha256=hashlib.sha256(model_bytes).hexdigest(), size=len(model_bytes),
        inputs=inputs, outputs=outputs, family=name, labels=labels, preprocessing=preprocessing, golden=golden,
        created_at=datetime.now(UTC).isoformat(),
        framework={"onnx": onnx.__version__, "onnxruntime": ort.__version__, "opset": "17"},
    )


def digits_manifest(model_bytes: bytes | None = None, version: int = 1) -> Manifest:
    from sklearn.datasets import load_digits

    images = load_digits().images[:3].astype(np.float32)
    return manifest(model_bytes or digits_model(), "digits",
                    {"height": 8, "width": 8, "max_value": 16.0, "ink": "high"},
                    [str(d) for d in range(10)], [images[i:i + 1] for i in range(3)], version)


def sentiment_preprocessing(vocabulary: list[str], length: int = SEQUENCE_LENGTH) -> dict[str, Any]:
    return {"tokenizer": "keras-text-vectorization", "standardize": "lower_and_strip_punctuation",
            "split": "whitespace", "vocabulary": list(vocabulary), "sequence_length": length,
            "pad_id": 0, "oov_id": 1}


def sentiment_manifest(model_bytes: bytes | None = None, version: int = 1) -> Manifest:
    # The function takes text: each golden example also carries the text its token ids come from.
    from lepton_serving.vectorizer import Tokenizer

    text = " ".join(VOCABULARY[2:6])
    tokens = Tokenizer.from_preprocessing(sentiment_preprocessing(VOCABULARY)).encode_batch([text])
    built = manifest(model_bytes or sentiment_model(), "sentiment", sentiment_preprocessing(VOCABULARY),
                     ["negative", "positive"], [tokens], version)
    built.golden[0].request = [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]}]
    return built


def recommender_manifest(model_bytes: bytes | None = None, version: int = 1) -> Manifest:
    return manifest(model_bytes or recommender_model(), "recommender",
                    {"num_users": NUM_USERS, "num_items": NUM_ITEMS, "synthetic": True, "data_seed": 7},
                    None, [np.array([0], np.int64), np.array([7], np.int64)], version)


def generator_preprocessing(latent_dim: int = LATENT_DIM) -> dict[str, Any]:
    return {"latent_dim": latent_dim, "num_classes": 10, "height": 8, "width": 8, "max_value": 16.0, "ink": "high",
            "sampler": "numpy.random.default_rng(seed).standard_normal((count, latent_dim), dtype=float32)"}


def generator_manifest(model_bytes: bytes | None = None, version: int = 1) -> Manifest:
    rng = np.random.default_rng(0)
    golden = [{"z": rng.standard_normal((1, LATENT_DIM), dtype=np.float32), "label": np.array([d], np.int64)}
              for d in (0, 3, 9)]
    return manifest(model_bytes or generator_model(), "generator", generator_preprocessing(),
                    [str(d) for d in range(10)], golden, version)
