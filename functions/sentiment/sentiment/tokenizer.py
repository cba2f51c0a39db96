"""Keras TextVectorization's int mode, re-implemented without TensorFlow, from the manifest.

Training runs `TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace",
output_mode="int", output_sequence_length=L)` outside the graph. What it does, measured on
keras 3.15 / TF 2.21 (tests/families/test_tokenizer.py checks it against keras itself):
- `tf.strings.lower` without an encoding lower-cases ASCII A-Z only ("ÉCOLE" -> "École");
- the regex ``[!"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']`` deletes ASCII punctuation only
  (exactly `string.punctuation`; "’" and "«" stay);
- `tf.strings.split` splits on ASCII whitespace only (space, \\t \\n \\v \\f \\r), runs collapse,
  leading/trailing runs vanish (a no-break space stays inside the word);
- lookup: the index in get_vocabulary() ("" = 0 pad, "[UNK]" = 1), anything else -> 1;
- pad or truncate at the end (post) to exactly L ids.
"""
from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_LOWER_AND_STRIP = str.maketrans(string.ascii_uppercase, string.ascii_lowercase, string.punctuation)
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")

SUPPORTED = {"tokenizer": "keras-text-vectorization", "standardize": "lower_and_strip_punctuation",
             "split": "whitespace"}


class TokenizerConfigError(ValueError):
    """The manifest's preprocessing is not one this tokenizer reproduces."""


class Tokenizer:
    def __init__(self, vocabulary: Sequence[str], sequence_length: int, pad_id: int = 0, oov_id: int = 1):
        if sequence_length < 1:
            raise TokenizerConfigError(f"sequence_length must be positive, got {sequence_length}")
        if len(vocabulary) < 2 or vocabulary[pad_id] != "" or vocabulary[oov_id] != "[UNK]":
            raise TokenizerConfigError("the vocabulary must start with '' (pad) and '[UNK]' (out of vocabulary), "
                                       "in TextVectorization.get_vocabulary() order")
        self.vocabulary = list(vocabulary)
        self.sequence_length = sequence_length
        self.pad_id, self.oov_id = pad_id, oov_id
        # The pad and OOV entries are never looked up: no token is "" and "[UNK]" loses its brackets.
        self._ids = {word: i for i, word in enumerate(self.vocabulary) if i not in (pad_id, oov_id)}

    @classmethod
    def from_preprocessing(cls, prep: Mapping[str, Any]) -> Tokenizer:
        wrong = {k: prep.get(k) for k, v in SUPPORTED.items() if prep.get(k) != v}
        if wrong:
            raise TokenizerConfigError(f"unsupported preprocessing {wrong}; this tokenizer reproduces {SUPPORTED}")
        vocabulary = prep.get("vocabulary")
        if not isinstance(vocabulary, list) or not all(isinstance(w, str) for w in vocabulary):
            raise TokenizerConfigError("preprocessing.vocabulary must be a list of strings")
        try:
            return cls(vocabulary, int(prep["sequence_length"]), int(prep.get("pad_id", 0)), int(prep.get("oov_id", 1)))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise TokenizerConfigError(f"preprocessing needs sequence_length, pad_id and oov_id: {exc}") from exc

    @staticmethod
    def standardize(text: str) -> str:
        return text.translate(_LOWER_AND_STRIP)

    def words(self, text: str) -> list[str]:
        return [w for w in _WHITESPACE.split(self.standardize(text)) if w]

    def encode(self, text: str) -> list[int]:
        ids = [self._ids.get(w, self.oov_id) for w in self.words(text)[: self.sequence_length]]
        return ids + [self.pad_id] * (self.sequence_length - len(ids))

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """int64 because the graph's input is int64 and onnxruntime refuses int32."""
        out = np.full((len(texts), self.sequence_length), self.pad_id, dtype=np.int64)
        for row, text in enumerate(texts):
            out[row] = self.encode(text)
        return out
