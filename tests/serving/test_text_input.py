"""Text in front of a graph (lepton_serving.text) and the tokenizer.json that travels with its model:
pinned by the manifest, shipped in the model layer, refused when it is not the pinned file."""
from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from lepton_deploy.model_layer import ModelFiles, layer_zip
from lepton_serving import friendly
from lepton_serving.pins import ModelPins
from lepton_serving.errors import InvalidTensor, ModelIntegrityError
from lepton_serving.layer_model import read_layer_model
from lepton_serving.manifest import Manifest, ManifestError, TensorSpec, TokenizerFile
from lepton_serving.text import StringInput, TokenizedInput, text_input

VOCABULARY = {"[PAD]": 0, "[UNK]": 1, "lepton": 2, "serves": 3, "text": 4}
TOKENS = [TensorSpec("input_ids", "INT64", [-1, -1]), TensorSpec("attention_mask", "INT64", [-1, -1])]


def tokenizer_json(pad: bool = True) -> bytes:
    tokenizer = Tokenizer(models.WordLevel(VOCABULARY if pad else {k: v for k, v in VOCABULARY.items()
                                                                   if k != "[PAD]"}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer.to_str().encode()


def pin(data: bytes, max_length: int = 4) -> TokenizerFile:
    return TokenizerFile(hashlib.sha256(data).hexdigest(), len(data), max_length)


def manifest(data: bytes, inputs=TOKENS, **extra) -> Manifest:
    return Manifest("moods", 1, "a" * 64, 10, list(inputs), [TensorSpec("scores", "FP32", [-1, 2])],
                    tokenizer=pin(data), **extra)


def test_texts_become_the_graphs_ids_padded_to_the_longest_and_cut_at_the_models_length():
    data = tokenizer_json()
    encoded = TokenizedInput.load(data, pin(data), TOKENS).encode(["lepton serves", "text text text text text"])
    assert encoded.feed["input_ids"].tolist() == [[2, 3, 0, 0], [4, 4, 4, 4]]
    assert encoded.feed["attention_mask"].tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert encoded.feed["input_ids"].dtype == np.int64 and encoded.truncated == [1]


def test_a_graph_with_a_fixed_sequence_is_padded_to_it_and_must_agree_with_the_pinned_length():
    data = tokenizer_json()
    fixed = [TensorSpec("input_ids", "INT32", [-1, 4]), TensorSpec("attention_mask", "INT32", [-1, 4])]
    feed = TokenizedInput.load(data, pin(data, 4), fixed).encode(["lepton"]).feed
    assert feed["input_ids"].tolist() == [[2, 0, 0, 0]] and feed["input_ids"].dtype == np.int32
    with pytest.raises(ModelIntegrityError, match="exactly 4 tokens, the manifest's tokenizer.max_length is 8"):
        TokenizedInput.load(data, pin(data, 8), fixed)


def test_a_tokenizer_without_padding_or_a_pad_token_and_a_graph_without_token_inputs_do_not_load():
    data = tokenizer_json(pad=False)
    with pytest.raises(ModelIntegrityError, match="sets no padding and has none of the pad tokens"):
        TokenizedInput.load(data, pin(data), TOKENS)
    with pytest.raises(ModelIntegrityError, match="this graph takes features"):
        TokenizedInput.load(tokenizer_json(), pin(tokenizer_json()), [TensorSpec("features", "FP32", [-1, 3])])
    with pytest.raises(ModelIntegrityError, match="not a tokenizer the Hugging Face tokenizers library reads"):
        TokenizedInput.load(b"{}", pin(b"{}"), TOKENS)


def test_a_text_with_no_tokens_is_the_callers_400():
    data = tokenizer_json()
    with pytest.raises(InvalidTensor, match="text 1 has no tokens"):
        TokenizedInput.load(data, pin(data), TOKENS).encode(["lepton", "   "])


def test_a_string_graph_takes_the_texts_as_its_rows_in_either_shape():
    for shape, expected in (([-1], (2,)), ([-1, 1], (2, 1))):
        found = text_input(Manifest("reviews", 1, "a" * 64, 1, [TensorSpec("text", "BYTES", shape)],
                                    [TensorSpec("p", "FP32", [-1, 2])]), None)
        assert isinstance(found, StringInput)
        assert found.encode(["a", "b"]).feed["text"].shape == expected
    numeric = Manifest("tabular", 1, "a" * 64, 1, [TensorSpec("x", "FP32", [-1, 3])], [TensorSpec("p", "FP32", [-1, 2])])
    assert text_input(numeric, None) is None


def test_the_manifest_pins_the_tokenizer_and_a_manifest_without_one_reads_as_before():
    data = tokenizer_json()
    pinned = manifest(data, output_labels={"scores": ["no", "yes"]})
    again = Manifest.from_json(pinned.to_json())
    assert again.tokenizer == pinned.tokenizer and again.tokenizer_key == "models/moods/1/tokenizer.json"
    assert again.labels_of("scores") == ["no", "yes"] and again.labels_of("other") is None
    plain = Manifest("tabular", 1, "a" * 64, 1, TOKENS, [TensorSpec("p", "FP32", [-1, 2])])
    assert "tokenizer" not in plain.to_dict() and "output_labels" not in plain.to_dict()
    for bad, words in (({"sha256": "x", "size": 1, "max_length": 4}, "64 lower-case hex"),
                       ({"sha256": "a" * 64, "size": 1, "max_length": 0}, "max_length one of at least 1"),
                       ({"sha256": "a" * 64, "size": 1, "max_length": 4, "file": "../vocab.json"}, "must be")):
        with pytest.raises(ManifestError, match=words):
            Manifest.from_dict({**plain.to_dict(), "tokenizer": bad})


def layer(tmp_path, files: ModelFiles):
    with zipfile.ZipFile(io.BytesIO(layer_zip(files))) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "lepton-model"


def test_the_model_layer_ships_the_tokenizer_and_a_cold_start_refuses_one_that_is_not_pinned(tmp_path):
    model, data = b"\x08\x08onnx", tokenizer_json()
    document = Manifest("moods", 1, hashlib.sha256(model).hexdigest(), len(model), TOKENS,
                        [TensorSpec("scores", "FP32", [-1, 2])], tokenizer=pin(data)).to_json().encode()
    ref = ModelPins("bucket", "models/moods/1/model.onnx", hashlib.sha256(model).hexdigest(), "1",
                   hashlib.sha256(document).hexdigest())
    folder = layer(tmp_path / "good", ModelFiles(model, document, data))
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "model.onnx", "tokenizer.json"]
    assert read_layer_model(str(folder), ref).tokenizer == data
    (folder / "tokenizer.json").write_bytes(data.replace(b"lepton", b"neptol"))
    with pytest.raises(ModelIntegrityError, match="the manifest pins tokenizer.json"):
        read_layer_model(str(folder), ref)
    missing = layer(tmp_path / "missing", ModelFiles(model, document))
    with pytest.raises(ModelIntegrityError, match="has no tokenizer.json, which its manifest pins"):
        read_layer_model(str(missing), ref)


def test_several_labelled_score_outputs_are_each_labelled_under_their_name():
    outputs = {"sentiment": np.array([[0.2, 0.8]], np.float32), "source": np.array([[0.1, 0.7, 0.2]], np.float32),
               "length": np.array([7], np.int64)}
    both = friendly.encode(outputs, None, 1, {"sentiment": ["neg", "pos"], "source": ["a", "b", "c"]})
    entry = both["predictions"][0]
    assert entry["sentiment"]["label"] == "pos" and entry["source"]["label"] == "b" and entry["length"] == 7
    assert entry["source"]["probabilities"] == pytest.approx({"a": 0.1, "b": 0.7, "c": 0.2})
    one = friendly.encode(outputs, None, 1, {"source": ["a", "b", "c"]})["predictions"][0]
    assert one["label"] == "b" and one["sentiment"] == pytest.approx([0.2, 0.8])
