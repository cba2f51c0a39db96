"""Keras TextVectorization's int mode, re-implemented without TensorFlow, from the manifest.

The sentiment function tokenises with it, and the drift check reads the same words (how long a
text is, how many words the vocabulary does not know), so both see a text exactly as training did.

Training runs `TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace",
output_mode="int", output_sequence_length=L)` outside the graph. What it does, measured on
keras 3.15 / TF 2.21 (tests/families/test_sentiment_tokenizer.py checks it against keras itself):
- `tf.strings.lower` without an encoding lower-cases ASCII A-Z only ("ÉCOLE" -> "École");
- the regex ``[!"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']`` deletes ASCII punctuation only
  (exactly `string.punctuation`; "’" and "«" stay);
- `tf.strings.split` splits on ASCII whitespace only (space, \\t \\n \\v \\f \\r), runs collapse,
  leading/trailing runs vanish (a no-break space stays inside the word);
- lookup: the index in get_vocabulary() ("" = 0 pad, "[UNK]" = 1), anything else -> 1;
- pad or truncate at the end (post) to exactly L ids.

Every step changes ASCII only, so it runs on each text's UTF-8 bytes (whose multi-byte sequences
never hold an ASCII byte): `bytes.translate` lower-cases and strips, `bytes.split()` splits on
exactly those six whitespace bytes. The batch's words are then looked up in one pass and placed
into the padded matrix with one masked assignment: no Python loop per word.
"""
from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

_LOWER = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())
_PUNCTUATION = string.punctuation.encode()

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
        self._positions = np.arange(sequence_length)
        # The pad and OOV entries are never looked up: no token is "" and "[UNK]" loses its brackets.
        self._ids = {_utf8(word): i for i, word in enumerate(self.vocabulary) if i not in (pad_id, oov_id)}

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

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0].tolist()

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), L] int64 ids (the graph's input is int64; onnxruntime refuses int32)."""
        length = self.sequence_length
        # each text's words as training saw them, cut to the sequence length
        words = [w[:length] for w in map(_words, texts)]
        counts = list(map(len, words))
        ids = np.fromiter(map(self._ids.get, chain.from_iterable(words), repeat(self.oov_id)),
                          dtype=np.int64, count=sum(counts))
        out = np.full((len(texts), length), self.pad_id, dtype=np.int64)
        # Each row's words fill its first positions: a row-major mask takes the ids in batch order.
        out[self._positions < np.array(counts, dtype=np.intp)[:, None]] = ids
        return out


    def word_counts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text, its words and how many of them the vocabulary does not know (all of its
        words, not only the first L the model reads)."""
        words = [_words(text) for text in texts]
        known = self._ids
        unknown = [sum(1 for w in row if w not in known) for row in words]
        return np.fromiter(map(len, words), np.int64, len(words)), np.asarray(unknown, dtype=np.int64)


def _words(text: str) -> list[bytes]:
    """A text's words as training saw them: UTF-8, ASCII lower-cased, ASCII punctuation removed,
    split on ASCII whitespace."""
    return _utf8(text).translate(_LOWER, _PUNCTUATION).split()


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate (legal in a JSON string) is just an unknown word, not an error
    return text.encode("utf-8", "surrogatepass")
