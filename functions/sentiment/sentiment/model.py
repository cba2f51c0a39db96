"""Sentiment classifier: text in, negative/positive probabilities out.

The graph takes int64 token ids [batch, L]; tokenising happens here, with the manifest's
vocabulary and L, exactly as training did (tokenizer.py). So the public V2 signature differs
from the graph's: one BYTES tensor `text` of shape [-1], one string per row.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor, LimitExceeded, ModelIntegrityError
from lepton_serving.manifest import Manifest, TensorSpec
from lepton_serving.model import Model, PredictRequest

from sentiment.tokenizer import Tokenizer, TokenizerConfigError

MAX_CHARACTERS = 5000
TEXT = TensorSpec("text", "BYTES", [-1])


class SentimentModel(Model):
    max_batch = 64

    def setup(self, manifest: Manifest) -> None:
        try:
            self.tokenizer = Tokenizer.from_preprocessing(manifest.preprocessing)
        except TokenizerConfigError as exc:
            raise ModelIntegrityError(f"sentiment v{manifest.version}: {exc}") from exc
        graph = manifest.inputs[0]
        length = graph.shape[-1] if len(graph.shape) == 2 else None
        if length is None or (length >= 0 and length != self.tokenizer.sequence_length):
            raise ModelIntegrityError(
                f"sentiment v{manifest.version}: input {graph.name} {graph.shape} does not take "
                f"[batch, {self.tokenizer.sequence_length}] token ids as preprocessing.sequence_length says"
            )
        self.graph_input = graph.name

    @property
    def inputs(self) -> list[TensorSpec]:
        self._require()
        return [TEXT]

    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in inputs[TEXT.name].reshape(-1)]
        for i, text in enumerate(texts):
            where = f"text {i}" if len(texts) > 1 else "the text"
            if len(text) > MAX_CHARACTERS:
                raise LimitExceeded(f"{where} has {len(text)} characters; the limit is {MAX_CHARACTERS}: "
                                    "shorten it or split it into several texts")
            if not self.tokenizer.words(text):
                raise InvalidTensor(f"{where} is empty (or only punctuation and spaces); send some words")
        return {self.graph_input: self.tokenizer.encode_batch(texts)}

    def decode_predict(self, doc: Any) -> PredictRequest:
        if isinstance(doc, dict) and ("text" in doc) != ("texts" in doc):
            texts = [doc["text"]] if "text" in doc else doc["texts"]
            if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
                if len(texts) > self.max_batch:
                    raise LimitExceeded(f"{len(texts)} texts is above this model's maximum of {self.max_batch}; "
                                        "split the request")
                return PredictRequest({TEXT.name: np.array(texts, dtype=object)})
        raise InvalidRequest('send {"text": "..."} or {"texts": ["...", ...]} (strings)')

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        probabilities = outputs[self.outputs[0].name]
        labels = self.labels or ["negative", "positive"]
        predictions = []
        for row in probabilities:
            best = int(np.argmax(row))
            predictions.append({"label": labels[best], "score": float(row[best]),
                                "probabilities": {label: float(p) for label, p in zip(labels, row)}})
        return {"predictions": predictions}
