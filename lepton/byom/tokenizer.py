"""`lepton add --tokenizer tokenizer.json`: a Hugging Face-style model served from text.

The graph takes ``input_ids`` and ``attention_mask`` (and optionally ``token_type_ids``); the
tokenizer.json is the file the Hugging Face hub ships beside such a model. Here it is read with
the same `tokenizers` library the function uses, the model's maximum length is settled, and the
golden example's texts are tokenized, so the manifest records both the texts (which the
pre-traffic check sends to the new function version) and the ids (which the gate runs).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import TOKENIZER_FILE, TokenizerFile
from lepton_serving.text import TEXT, TOKEN_INPUTS, TokenizedInput, parse_tokenizer, token_inputs

from .errors import Refused
from .inspection import OnnxModel

#: The golden example's texts when no --sample gives others: two rows, so the batch dimension is tried.
GOLDEN_TEXTS = ["Lepton serves this model from raw text.",
                "A second, longer sentence, so the golden example pads a batch of two texts."]


@dataclass(frozen=True)
class AddedTokenizer:
    data: bytes = field(repr=False)
    pinned: TokenizerFile
    encoder: TokenizedInput = field(repr=False)

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The graph's feed for ``texts``; Refused when they do not tokenize."""
        try:
            return self.encoder.encode(texts).feed
        except LeptonError as exc:
            raise Refused(f"the sample's texts do not tokenize: {exc.message}", "give texts with some words") from exc

    def summary(self) -> str:
        return (f"tokenizer {TOKENIZER_FILE}, {self.pinned.size:,} bytes, sha256 {self.pinned.sha256[:12]}…, "
                f"vocabulary {self.encoder.tokenizer.get_vocab_size():,}, sequences cut at {self.pinned.max_length} "
                f"tokens, padded to {self.encoder.pad_to or 'the longest in a batch'}")


def read_tokenizer(path: Path, model: OnnxModel, max_length: int | None) -> AddedTokenizer:
    """The tokenizer file, checked against the graph: Refused with what to do otherwise."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"there is no tokenizer file {path}", "pass the model's tokenizer.json: --tokenizer tokenizer.json")
    specs = [t.spec for t in model.inputs]
    try:
        token_inputs(specs)
    except LeptonError as exc:
        raise Refused(exc.message, f"--tokenizer is for graphs whose inputs are {', '.join(TOKEN_INPUTS)}; "
                                   "serve this one without it") from exc
    data = path.read_bytes()
    try:
        parsed = parse_tokenizer(data)
    except LeptonError as exc:
        raise Refused(f"{path.name}: {exc.message}", "pass the tokenizer.json saved with the model "
                                                      "(tokenizer.save('tokenizer.json'))") from exc
    length = sequence_length(model, parsed, max_length)
    pinned = TokenizerFile(hashlib.sha256(data).hexdigest(), len(data), length)
    try:
        encoder = TokenizedInput.load(data, pinned, specs)
    except LeptonError as exc:
        raise Refused(f"{path.name}: {exc.message}", "set padding in the tokenizer "
                      "(tokenizer.enable_padding(pad_id=..., pad_token=...)) and save it again") from exc
    return AddedTokenizer(data, pinned, encoder)


def sequence_length(model: OnnxModel, tokenizer: object, requested: int | None) -> int:
    """The most tokens one text may become: the graph's fixed length, else --max-length, else the
    truncation the tokenizer.json sets."""
    fixed = {t.dims[1] for t in model.inputs if len(t.dims) == 2 and isinstance(t.dims[1], int) and t.dims[1] > 0}
    if fixed:
        length = fixed.pop()
        if requested is not None and requested != length:
            raise Refused(f"--max-length {requested}, and the graph takes sequences of exactly {length} tokens",
                          "leave --max-length out: the graph decides")
        return length
    if requested is not None:
        if requested < 1:
            raise Refused(f"--max-length {requested} is not a length", "give the model's maximum sequence length")
        return requested
    truncation = getattr(tokenizer, "truncation", None) or {}
    if truncation.get("max_length"):
        return int(truncation["max_length"])
    raise Refused("the graph's sequence length is dynamic and the tokenizer.json truncates nowhere, so nothing says "
                  "how long a text may be", "pass --max-length N, the longest sequence the model was trained on "
                  "(max_position_embeddings for a transformer)")


def golden_request(texts: list[str]) -> list[dict]:
    """The golden example as the function's V2 request: the texts, which it tokenizes itself."""
    return [{"name": TEXT.name, "datatype": TEXT.datatype, "shape": [len(texts)], "data": list(texts)}]
