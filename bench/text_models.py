"""Text models the way users bring them, built here from the sentiment corpus (training/data/sentiment,
CC BY 4.0), nothing downloaded:

- a scikit-learn TfidfVectorizer + LogisticRegression pipeline exported with skl2onnx (its
  StringNormalizer names a locale, or none, as the caller asks);
- a WordPiece tokenizer.json trained with Hugging Face `tokenizers`;
- a small Keras attention model over that tokenizer's ids (``input_ids``, ``attention_mask``) with
  two score outputs, ``sentiment`` (negative/positive) and ``source`` (which site the sentence
  comes from), trained for a few seconds and exported with Keras 3's ``model.export(format="onnx")``.

The tests serve them (tests/byom) and the benchmark measures their cold starts beside the
trained families'. The Keras model is trained in a child process (`python -m bench.text_models
attention DIR`), so TensorFlow never loads into the calling process; `build_text_models` makes
all of them.
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SENTIMENT_LABELS = ["negative", "positive"]
SOURCES = ["amazon", "imdb", "yelp"]
MAX_LENGTH = 32
VOCABULARY = 2000
TEXTS = ["The battery died after two days, a total waste of money.",
         "Wonderful little phone and the sound is great!",
         "I have never seen a film this slow; the acting was wooden and the plot went nowhere at all, " * 3,
         "Ünïcode café, naïve résumé: the staff was friendly."]


@dataclass(frozen=True)
class TextModels:
    folder: Path
    tfidf: Path  # skl2onnx pipeline, StringNormalizer locale C.UTF-8 (Lambda has it)
    tfidf_default_locale: Path  # the same pipeline as skl2onnx exports it by default (en_US.UTF-8)
    tokenizer: Path  # WordPiece tokenizer.json
    attention: Path  # the Keras model's ONNX export
    sentiment_labels: Path
    source_labels: Path


def corpus() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every sentence of the three files, its sentiment (0/1) and its source (0..2)."""
    from lepton_training.data.sentiment import DEFAULT_DIR, FILES, read_file

    texts, sentiment, source = [], [], []
    for index, name in enumerate(SOURCES):
        for sentence, label in read_file(DEFAULT_DIR / FILES[name]):
            texts.append(sentence)
            sentiment.append(label)
            source.append(index)
    return texts, np.array(sentiment, dtype=np.int64), np.array(source, dtype=np.int64)


def tfidf_pipeline(locale: str | None) -> bytes:
    """TfidfVectorizer + LogisticRegression as skl2onnx exports it, input 'text' STRING [batch]."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, sentiment, _ = corpus()
    vectorizer, classifier = TfidfVectorizer(max_features=3000), LogisticRegression(max_iter=300)
    pipeline = make_pipeline(vectorizer, classifier).fit(texts, sentiment)
    options = {id(classifier): {"zipmap": False}}
    if locale:
        options[id(vectorizer)] = {"locale": locale}
    return to_onnx(pipeline, initial_types=[("text", StringTensorType([None]))], options=options,
                   target_opset=17).SerializeToString()


def wordpiece_tokenizer() -> str:
    """A BERT-style WordPiece tokenizer.json: lower-cased, [CLS] ... [SEP], padded with [PAD], cut at 32."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(corpus()[0], trainers.WordPieceTrainer(
        vocab_size=VOCABULARY, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[
        ("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.enable_truncation(MAX_LENGTH)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    return tokenizer.to_str()


def train_attention(tokenizer_path: Path, out: Path) -> None:
    """In a child process: embeddings, one multi-head self-attention block over the mask, masked mean
    pooling and two softmax heads; 2 epochs; exported to ONNX (opset 17)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from tokenizers import Tokenizer

    texts, sentiment, source = corpus()
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    keras.utils.set_random_seed(7)
    input_ids = keras.Input(shape=(None,), dtype="int64", name="input_ids")
    attention_mask = keras.Input(shape=(None,), dtype="int64", name="attention_mask")
    embedded = keras.layers.Embedding(VOCABULARY, 32)(input_ids)
    pairs = keras.ops.cast(keras.ops.expand_dims(attention_mask, 1) * keras.ops.expand_dims(attention_mask, 2), "bool")
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=16)(embedded, embedded, attention_mask=pairs)
    hidden = keras.layers.LayerNormalization()(embedded + attended)
    weights = keras.ops.expand_dims(keras.ops.cast(attention_mask, "float32"), -1)
    pooled = keras.ops.sum(hidden * weights, axis=1) / keras.ops.maximum(keras.ops.sum(weights, axis=1), 1.0)
    heads = {"sentiment": keras.layers.Dense(2, activation="softmax", name="sentiment")(pooled),
             "source": keras.layers.Dense(3, activation="softmax", name="source")(pooled)}
    model = keras.Model({"input_ids": input_ids, "attention_mask": attention_mask}, heads)
    model.compile("adam", {"sentiment": "sparse_categorical_crossentropy", "source": "sparse_categorical_crossentropy"})
    model.fit({"input_ids": ids, "attention_mask": mask}, {"sentiment": sentiment, "source": source},
              epochs=2, batch_size=64, verbose=0)
    model.export(str(out), format="onnx", opset_version=17, verbose=False)


def build_text_models(folder: Path) -> TextModels:
    folder.mkdir(parents=True, exist_ok=True)
    models = TextModels(folder, folder / "tfidf.onnx", folder / "tfidf-en-us.onnx", folder / "tokenizer.json",
                        folder / "attention.onnx", folder / "sentiment.txt", folder / "source.txt")
    models.tfidf.write_bytes(tfidf_pipeline("C.UTF-8"))
    models.tfidf_default_locale.write_bytes(tfidf_pipeline(None))
    models.tokenizer.write_text(wordpiece_tokenizer(), encoding="utf-8")
    models.sentiment_labels.write_text("\n".join(SENTIMENT_LABELS) + "\n")
    models.source_labels.write_text("\n".join(SOURCES) + "\n")
    subprocess.run([sys.executable, "-m", "bench.text_models", "attention", str(folder)], check=True, timeout=600,
                   capture_output=True, text=True, cwd=ROOT)
    return models


def offline(models: TextModels, texts: list[str]) -> dict[str, np.ndarray]:
    """What a user computes offline: the tokenizer.json as saved, then onnxruntime on the ids."""
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(models.tokenizer))
    encodings = tokenizer.encode_batch(texts)
    feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
    session = onnxruntime.InferenceSession(str(models.attention))
    names = [o.name for o in session.get_outputs()]
    return {**feed, **dict(zip(names, session.run(names, feed)))}


if __name__ == "__main__":
    if sys.argv[1:2] == ["attention"]:
        target = Path(sys.argv[2])
        train_attention(target / "tokenizer.json", target / "attention.onnx")
