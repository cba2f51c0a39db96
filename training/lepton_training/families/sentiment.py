"""sentiment: Embedding + LSTM over token ids; TextVectorization runs OUTSIDE the exported graph.

The vectoriser is adapted on the fitting data only. The exported model takes int64 token ids
[batch, sequence_length], post-padded with 0 (pad) and 1 for out-of-vocabulary words.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.manifest import TensorSpec

from ..data import sentiment as data
from ..tf_env import import_tensorflow
from ..train import Trained
from .classifier import ClassifierFamily

STANDARDIZE = "lower_and_strip_punctuation"
SPLIT = "whitespace"


class SentimentFamily(ClassifierFamily):
    name = "sentiment"
    input_name = "tokens"
    output_name = "probabilities"
    labels = data.LABELS
    defaults = {
        "epochs": 3,  # CV accuracy peaks at 3 epochs (0.797 vs 0.784 at 8); it overfits after
        "batch_size": 32,
        "learning_rate": 0.003,
        "sequence_length": 32,
        "max_tokens": 5000,
        "embedding_dim": 32,
        "units": 32,
        "rnn": "lstm",  # "lstm" or "gru"
        "mask": False,  # masking turns the RNN into an ONNX Loop (slower); see docs/training.md
        "go_backwards": True,  # read right to left so post-padding comes first, not last
        "dropout": 0.3,
    }
    quick = {"epochs": 1, "folds": 2, "max_tokens": 1000}
    search_grid = {"units": [16, 32], "epochs": [3, 6]}
    quick_sizes = (256, 64)

    def load_data(self, hp: dict[str, Any]) -> data.ClassificationData:
        return data.load(seed=int(hp["seed"]), test_size=float(hp["test_size"]), directory=hp.get("data_dir") or None)

    def fit_state(self, hp: dict[str, Any], x_raw: np.ndarray) -> dict[str, Any]:
        import_tensorflow()
        import keras

        vectorizer = keras.layers.TextVectorization(
            max_tokens=int(hp["max_tokens"]),
            standardize=STANDARDIZE,
            split=SPLIT,
            output_mode="int",
            output_sequence_length=int(hp["sequence_length"]),
        )
        vectorizer.adapt(np.asarray(x_raw, dtype=str))
        return {"vectorizer": vectorizer, "vocabulary": vectorizer.get_vocabulary()}

    def golden_requests(self, part: Any, picks: np.ndarray) -> list[list[dict[str, Any]]]:
        """The function takes text (it tokenises), so a golden request is the row's own text."""
        return [[{"name": "text", "datatype": "BYTES", "shape": [1], "data": [str(part.x[int(i)])]}] for i in picks]

    def reference_inputs(self, trained: Trained, part: Any) -> dict[str, np.ndarray]:
        """The function takes text and tokenises it: the profile reads the texts themselves."""
        return {"text": np.asarray([str(t) for t in part.x], dtype=object)}

    def transform(self, state: dict[str, Any], x_raw: np.ndarray) -> np.ndarray:
        # int64 because the ONNX input is int64 and onnxruntime refuses int32.
        return np.asarray(state["vectorizer"](np.asarray(x_raw, dtype=str)), dtype=np.int64)

    def build(self, hp: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
        import keras
        from keras import layers

        vocab_size = len(state["vocabulary"])
        tokens = keras.Input(shape=(int(hp["sequence_length"]),), dtype="int64", name=self.input_name)
        x = layers.Embedding(vocab_size, int(hp["embedding_dim"]), mask_zero=bool(hp["mask"]))(tokens)
        rnn = {"lstm": layers.LSTM, "gru": layers.GRU}[str(hp["rnn"]).lower()]
        x = rnn(int(hp["units"]), go_backwards=bool(hp["go_backwards"]))(x)
        x = layers.Dropout(float(hp["dropout"]))(x)
        outputs = layers.Dense(2, activation="softmax", name=self.output_name)(x)
        model = keras.Model(tokens, outputs, name="sentiment")
        return model, model

    def preprocessing(self, trained: Trained, hp: dict[str, Any], data_: Any) -> dict[str, Any]:
        return {
            "tokenizer": "keras-text-vectorization",
            "standardize": STANDARDIZE,
            "split": SPLIT,
            "vocabulary": list(trained.state["vocabulary"]),
            "sequence_length": int(hp["sequence_length"]),
            "pad_id": 0,
            "oov_id": 1,
        }

    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        length = int(hp["sequence_length"])
        return [TensorSpec("tokens", "INT64", [-1, length])], [TensorSpec("probabilities", "FP32", [-1, 2])]
