"""Sentiment classifier: text in, negative/positive probabilities out.

The graph takes int64 token ids [batch, L]; tokenising happens here, with the manifest's
vocabulary and L, exactly as training did (lepton_serving.vectorizer). So the public V2 signature differs
from the graph's: one BYTES tensor `text` of shape [-1], one string per row.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor, LimitExceeded, ModelIntegrityError
from lepton_serving.manifest import Manifest, TensorSpec
from lepton_serving.model import Model, PredictRequest
from lepton_serving.vectorizer import Tokenizer, TokenizerConfigError

MAX_CHARACTERS = 5000
TEXT = TensorSpec("text", "BYTES", [-1])


class SentimentModel(Model):
    max_batch = 64
    row_noun = "texts"

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
        texts = list(map(str, inputs[TEXT.name].reshape(-1).tolist()))
        if max(map(len, texts), default=0) > MAX_CHARACTERS:
            i = next(i for i, text in enumerate(texts) if len(text) > MAX_CHARACTERS)
            raise LimitExceeded(f"{_where(i, texts)} has {len(texts[i])} characters; the limit is {MAX_CHARACTERS}: "
                                "shorten it or split it into several texts")
        ids = self.tokenizer.encode_batch(texts)
        # Padding goes at the end, so a text with no words at all starts with the pad id.
        empty = np.flatnonzero(ids[:, 0] == self.tokenizer.pad_id) if ids.size else []
        if len(empty):
            raise InvalidTensor(f"{_where(int(empty[0]), texts)} is empty (or only punctuation and spaces); "
                                "send some words")
        return {self.graph_input: ids}

    def read_predict(self, doc: Any) -> PredictRequest:
        """{"text": "..."} or {"texts": [...]}; also the generic {"instances": [...]} of any model."""
        forms = [f for f in ("text", "texts", "instances") if isinstance(doc, dict) and f in doc]
        if len(forms) == 1:
            texts = [doc["text"]] if forms[0] == "text" else doc[forms[0]]
            if isinstance(texts, list) and all(isinstance(t, str) for t in texts):
                return PredictRequest(texts)
        raise InvalidRequest('send {"text": "..."} or {"texts": ["...", ...]} (strings)')

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        return {TEXT.name: np.array(request.rows, dtype=object)}

    @property
    def labels(self) -> list[str]:
        return super().labels or ["negative", "positive"]


def _where(index: int, texts: list[str]) -> str:
    return f"text {index}" if len(texts) > 1 else "the text"
