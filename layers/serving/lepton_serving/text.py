"""Text in, the graph's tensors out: what lets a model with no code of its own answer raw strings.

Two kinds of graph take text:

- **strings**: the graph's one input is a STRING tensor, one text per row (``[batch]`` or
  ``[batch, 1]``), as skl2onnx writes a TfidfVectorizer pipeline. The texts go in as they are.
- **tokens**: the graph takes ``input_ids`` and ``attention_mask`` (and optionally
  ``token_type_ids``), integers ``[batch, sequence]``, as a Hugging Face-style transformer does,
  and its manifest pins a ``tokenizer.json``. The Hugging Face `tokenizers` library (the
  TokenizersLayer) reads that file and makes the ids, exactly as offline tokenization does.
  Truncation follows the model's maximum length (``tokenizer.max_length``, the graph's own fixed
  sequence length when it has one); a batch is padded to its longest text, or to that fixed
  length. Which texts were cut is reported with the answer.

`tokenizers` is imported when a tokenizer is loaded, never at import time: models without one
never load it, and a function without the layer never needs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidTensor, ModelIntegrityError
from .manifest import TOKENIZER_FILE, Manifest, TensorSpec, TokenizerFile

#: The inputs a tokenizer fills, by the names Hugging Face exports give them.
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: The V2 input a tokenizer model also takes instead of its token tensors: one text per row.
TEXT = TensorSpec("text", "BYTES", [-1])
#: Tokens that pad a batch when the tokenizer.json sets no padding of its own (BERT's, then T5's/RoBERTa's).
PAD_TOKENS = ("[PAD]", "<pad>")
_INTEGER = ("INT64", "INT32")


@dataclass
class Encoded:
    """The graph's feed for a batch of texts, and which of them were cut to the maximum length."""

    feed: dict[str, np.ndarray]
    truncated: list[int] = field(default_factory=list)  # row indices


class TextInput:
    """How one model turns a batch of texts into its graph's feed."""

    kind = ""

    def encode(self, texts: list[str]) -> Encoded:
        raise NotImplementedError


class StringInput(TextInput):
    """The graph reads strings itself: each text is one row of its STRING input."""

    kind = "strings"

    def __init__(self, spec: TensorSpec):
        self.spec = spec

    def encode(self, texts: list[str]) -> Encoded:
        array = np.array(texts, dtype=object)
        return Encoded({self.spec.name: array.reshape(len(texts), *([1] if len(self.spec.shape) == 2 else []))})


class TokenizedInput(TextInput):
    """A Hugging Face tokenizer.json in front of a graph that takes token ids."""

    kind = "tokens"

    def __init__(self, tokenizer: Any, specs: list[TensorSpec], max_length: int, pad_to: int | None):
        self.tokenizer = tokenizer
        self.specs = specs
        self.max_length = max_length
        self.pad_to = pad_to
        self._dtypes = {s.name: np.dtype("int64" if s.datatype == "INT64" else "int32") for s in specs}

    @classmethod
    def load(cls, data: bytes, pinned: TokenizerFile, inputs: list[TensorSpec]) -> TokenizedInput:
        """The pinned tokenizer over the graph's token inputs; ModelIntegrityError when they do not fit."""
        specs = token_inputs(inputs)
        fixed = {s.shape[1] for s in specs if s.shape[1] > 0}
        if len(fixed) > 1:
            raise ModelIntegrityError(f"the token inputs disagree on the sequence length: {sorted(fixed)}")
        pad_to = fixed.pop() if fixed else None
        if pad_to is not None and pinned.max_length != pad_to:
            raise ModelIntegrityError(f"the graph takes sequences of exactly {pad_to} tokens, the manifest's "
                                      f"tokenizer.max_length is {pinned.max_length}")
        tokenizer = parse_tokenizer(data)
        padding = tokenizer.padding or {}
        pad_token = padding.get("pad_token") if padding else next(
            (t for t in PAD_TOKENS if tokenizer.token_to_id(t) is not None), None)
        pad_id = padding.get("pad_id") if padding else (tokenizer.token_to_id(pad_token) if pad_token else None)
        if pad_token is None or pad_id is None:
            raise ModelIntegrityError(f"{TOKENIZER_FILE} sets no padding and has none of the pad tokens "
                                      f"{', '.join(PAD_TOKENS)}, so a batch of texts cannot be padded")
        # The model's limits, whatever the file says: cut at max_length, pad to the longest (or the fixed length).
        tokenizer.enable_truncation(pinned.max_length)
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token, length=pad_to)
        return cls(tokenizer, specs, pinned.max_length, pad_to)

    def encode(self, texts: list[str]) -> Encoded:
        encodings = self.tokenizer.encode_batch(texts)
        columns = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                   "token_type_ids": [e.type_ids for e in encodings]}
        feed = {s.name: np.array(columns[s.name], dtype=self._dtypes[s.name]).reshape(len(texts), -1)
                for s in self.specs}
        mask = np.array(columns["attention_mask"], dtype=np.int64).reshape(len(texts), -1)
        empty = np.flatnonzero(mask.sum(axis=1) == 0)
        if empty.size:
            where = f"text {int(empty[0])}" if len(texts) > 1 else "the text"
            raise InvalidTensor(f"{where} has no tokens (it is empty or only characters the tokenizer drops); "
                                "send some words")
        return Encoded(feed, [i for i, e in enumerate(encodings) if e.overflowing])


def token_inputs(inputs: list[TensorSpec]) -> list[TensorSpec]:
    """The graph's inputs when they are token tensors a tokenizer fills; ModelIntegrityError otherwise."""
    names = [s.name for s in inputs]
    unknown = [n for n in names if n not in TOKEN_INPUTS]
    if unknown or not {"input_ids", "attention_mask"} <= set(names):
        raise ModelIntegrityError(f"a tokenizer fills the inputs input_ids and attention_mask (and optionally "
                                  f"token_type_ids); this graph takes {', '.join(names)}")
    wrong = [s for s in inputs if s.datatype not in _INTEGER or len(s.shape) != 2]
    if wrong:
        raise ModelIntegrityError(f"input '{wrong[0].name}' is {wrong[0].datatype} {wrong[0].shape}; token inputs "
                                  "are INT64 or INT32 [batch, sequence]")
    return inputs


def parse_tokenizer(data: bytes) -> Any:
    """A `tokenizers.Tokenizer` from tokenizer.json bytes; ModelIntegrityError when it is not one."""
    from tokenizers import Tokenizer  # the TokenizersLayer: only models with a tokenizer import it

    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - UnicodeDecodeError, and the Rust side's untyped errors
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelIntegrityError(f"{TOKENIZER_FILE} is not a tokenizer the Hugging Face tokenizers library reads: "
                                  f"{first}") from exc


def string_input(inputs: list[TensorSpec]) -> TensorSpec | None:
    """The graph's one input when it is a STRING tensor of one text per row."""
    if len(inputs) != 1:
        return None
    spec = inputs[0]
    return spec if spec.datatype == "BYTES" and (spec.shape in ([-1], [-1, 1])) else None


def text_input(manifest: Manifest, tokenizer: bytes | None) -> TextInput | None:
    """How this model takes text, or None when it does not."""
    if manifest.tokenizer is not None:
        if tokenizer is None:
            raise ModelIntegrityError(f"the manifest pins a {TOKENIZER_FILE}, and none was loaded with the model")
        return TokenizedInput.load(tokenizer, manifest.tokenizer, manifest.inputs)
    spec = string_input(manifest.inputs)
    return StringInput(spec) if spec is not None else None
