"""Per model function: valid V2 input tensors as numpy arrays, and what a direct onnxruntime
run of the model file the local stack serves computes for them (tests/stack_models.py)."""
from __future__ import annotations

import numpy as np

from onnx_models import run

TABULAR_ROWS = [[13.0, 0.12, 22.0], [25.0, 0.16, 36.0]]


def v2_inputs() -> dict[str, dict[str, tuple[np.ndarray, str]]]:
    """model -> {input name: (array, V2 datatype)}."""
    from family_models import LATENT_DIM
    from sklearn.datasets import load_digits

    return {
        "tabular": {"features": (np.array(TABULAR_ROWS, np.float32), "FP32")},
        "digits": {"image": (load_digits().images[:3].astype(np.float32), "FP32")},
        "sentiment": {"text": (np.array(["the movie was great", "I hated the boring plot", "not bad, not good"],
                                        dtype=object), "BYTES")},
        "recommender": {"user_id": (np.array([0, 7, 42], np.int64), "INT64")},
        "generator": {"z": (np.random.default_rng(7).standard_normal((3, LATENT_DIM)).astype(np.float32), "FP32"),
                      "label": (np.array([0, 3, 7], np.int64), "INT64")},
    }


def expected_outputs(model: str, model_bytes: bytes) -> dict[str, np.ndarray]:
    """What onnxruntime computes on ``model_bytes`` for `v2_inputs()[model]`."""
    inputs = {name: array for name, (array, _) in v2_inputs()[model].items()}
    if model == "sentiment":  # the graph takes token ids: tokenised as the function does
        from family_models import sentiment_manifest
        from lepton_serving.vectorizer import Tokenizer

        tokenizer = Tokenizer.from_preprocessing(sentiment_manifest().preprocessing)
        inputs = {"tokens": tokenizer.encode_batch(list(inputs["text"]))}
    return run(model_bytes, inputs)
