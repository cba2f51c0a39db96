"""The serving tokenizer against keras TextVectorization itself, configured as training configures it."""
from __future__ import annotations

import os
import random
import re
import string

import numpy as np
import pytest

from family_models import sentiment_preprocessing
from lepton_serving.vectorizer import Tokenizer, TokenizerConfigError

LENGTH = 8
CORPUS = [
    "I loved this movie, it was GREAT!",
    "The plot was boring; the acting awful.",
    "Don't waste your time... really, don't.",
    "Best café in town: naïve but charming.",
    "ÉCOLE école Straße strasse",
    "snake_case and kebab-case and e-mail",
    "x\u00a0y p\u3000q tab\tsep new\nline",
    "émoji 🙂 time 🙂🙂",
    "ΣΑΣ σας İstanbul ǅ",
    "the the the the movie movie plot",
]
TRICKY = [
    "",
    "   ",
    "!!!",
    "...---...",
    "I LOVED this Movie!!!",
    "don't  DON'T dont",
    "don’t stop",  # a typographic apostrophe is not ASCII punctuation: it stays
    "kebab-case e-mail snake_case",
    "[UNK] unk <unk>",
    "café CAFÉ Café",
    "ÉCOLE école",
    "Straße STRASSE",
    "naïve NAÏVE",
    "x\u00a0y p\u3000q",  # no-break and ideographic spaces are not split on
    "a\tb\nc\rd\x0be\x0cf",  # ASCII whitespace is
    "line\x1cone\x85two\u2028three",
    "  leading and trailing  ",
    "émoji🙂 🙂 time",
    "ΣΑΣ σας İstanbul ǅ",
    "the movie the movie the movie the movie the movie",  # longer than LENGTH: truncated at the end
    "one two three four five six seven eight nine ten",
    "1,000 $20.50 100% #1 @user http://x.y/z?q=1&r=2",
    "(parens) {braces} [brackets] <angles> |pipes| ~tilde~ ^caret^ `tick`",
    "quote\"double\" 'single' back\\slash",
    "\x00null\x00byte",
]


def random_strings(count: int, seed: int = 0) -> list[str]:
    """Mixtures of corpus words, punctuation, cases and every kind of space, for breadth."""
    rng = random.Random(seed)
    words = " ".join(CORPUS).split() + ["zzz", "UNKNOWN", "Ünïcödé"]
    pieces = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + [" ", "  ", "\t", "\n", "\u00a0", "’", "«", "»", "—"]
    out = []
    for _ in range(count):
        parts = [rng.choice(words) if rng.random() < 0.6 else rng.choice(pieces) for _ in range(rng.randint(0, 14))]
        text = "".join(p if rng.random() < 0.5 else p + " " for p in parts)
        out.append(text.upper() if rng.random() < 0.2 else text)
    return out


@pytest.fixture(scope="module")
def keras_vectorizer():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    vectorizer = keras.layers.TextVectorization(
        max_tokens=40, standardize="lower_and_strip_punctuation", split="whitespace",
        output_mode="int", output_sequence_length=LENGTH,
    )
    vectorizer.adapt(np.array(CORPUS))
    return vectorizer


@pytest.fixture(scope="module")
def tokenizer(keras_vectorizer) -> Tokenizer:
    # The manifest block exactly as training writes it, vocabulary from get_vocabulary().
    vocabulary = [str(w) for w in keras_vectorizer.get_vocabulary()]
    return Tokenizer.from_preprocessing(sentiment_preprocessing(vocabulary, LENGTH))


def keras_ids(vectorizer, texts: list[str]) -> np.ndarray:
    return np.asarray(vectorizer(np.array(texts, dtype=object)), dtype=np.int64)


def test_the_vocabulary_is_capped_so_some_corpus_words_are_out_of_vocabulary(keras_vectorizer, tokenizer):
    vocabulary = keras_vectorizer.get_vocabulary()
    assert len(vocabulary) == 40 and vocabulary[:2] == ["", "[UNK]"]
    # GIVEN the capped vocabulary THEN the comparison below exercises OOV ids as well as known ones
    assert (keras_ids(keras_vectorizer, CORPUS) == 1).any()


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_tokenise_exactly_like_keras(keras_vectorizer, tokenizer, text):
    expected = keras_ids(keras_vectorizer, [text])[0]
    np.testing.assert_array_equal(tokenizer.encode_batch([text])[0], expected)


def test_the_corpus_and_500_random_mixtures_tokenise_exactly_like_keras(keras_vectorizer, tokenizer):
    texts = CORPUS + random_strings(500)
    expected = keras_ids(keras_vectorizer, texts)
    actual = tokenizer.encode_batch(texts)
    mismatches = [t for t, a, e in zip(texts, actual, expected) if not np.array_equal(a, e)]
    assert not mismatches
    assert actual.dtype == np.int64 and actual.shape == (len(texts), LENGTH)


def test_padding_and_truncation_happen_at_the_end():
    tokenizer = Tokenizer(["", "[UNK]", "a", "b"], sequence_length=3)
    assert tokenizer.encode("b") == [3, 0, 0]
    assert tokenizer.encode("a b zzz b a") == [2, 3, 1]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"tokenizer": "bert-wordpiece"}, "unsupported preprocessing"),
        ({"standardize": "lower"}, "unsupported preprocessing"),
        ({"split": "character"}, "unsupported preprocessing"),
        ({"vocabulary": ["a", "b"]}, "must start with ''"),
        ({"vocabulary": "the movie"}, "list of strings"),
        ({"sequence_length": 0}, "sequence_length must be positive"),
        ({"sequence_length": "long"}, "needs sequence_length"),
    ],
)
def test_a_manifest_it_cannot_reproduce_is_refused(change, fragment):
    prep = {**sentiment_preprocessing(["", "[UNK]", "good"], 4), **change}
    with pytest.raises(TokenizerConfigError, match=fragment):
        Tokenizer.from_preprocessing(prep)


# -- the batch path against a plain per-word reference (no keras needed) --------------------------
_PLAIN_STANDARDIZE = str.maketrans(string.ascii_uppercase, string.ascii_lowercase, string.punctuation)


def plain_ids(text: str, vocabulary: list[str], length: int) -> list[int]:
    """One text, one word at a time: str.translate, a regex split on ASCII whitespace, dict lookups."""
    ids = {word: i for i, word in enumerate(vocabulary) if i > 1}
    words = [w for w in re.split(r"[ \t\n\v\f\r]+", text.translate(_PLAIN_STANDARDIZE)) if w][:length]
    return [ids.get(w, 1) for w in words] + [0] * (length - len(words))


#: Standardised words of the corpus, non-ASCII ones included; the rest of a text is out of vocabulary.
PLAIN_VOCABULARY = ["", "[UNK]", "the", "movie", "i", "loved", "café", "naïve", "école", "straße", "σας", "🙂",
                    "don’t", "x\u00a0y", "\x00null\x00byte", "kebabcase"]
SURROGATES = ["\ud800 lone surrogate", "movie\udfff movie", "\udc80"]


def test_a_batch_is_tokenised_row_for_row_like_the_plain_per_word_reference():
    tokenizer = Tokenizer(PLAIN_VOCABULARY, sequence_length=LENGTH)
    texts = CORPUS + TRICKY + SURROGATES + random_strings(300, seed=3) + ["the " * LENGTH, "movie " * (LENGTH + 1)]
    expected = [plain_ids(text, PLAIN_VOCABULARY, LENGTH) for text in texts]
    assert tokenizer.encode_batch(texts).tolist() == expected


def test_each_text_of_a_batch_of_64_gets_the_ids_it_gets_alone():
    tokenizer = Tokenizer(PLAIN_VOCABULARY, sequence_length=LENGTH)
    texts = random_strings(64, seed=4)
    together = tokenizer.encode_batch(texts)
    assert together.shape == (64, LENGTH) and together.dtype == np.int64
    assert [tokenizer.encode(text) for text in texts] == together.tolist()


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("", [0, 0, 0]),
        (" \t!?. ", [0, 0, 0]),
        ("zebra unicorn", [1, 1, 0]),  # unknown words are the OOV id, not dropped
        ("b a b", [3, 2, 3]),  # exactly L words fill the row
        ("b a b a", [3, 2, 3]),  # word L+1 is cut
        ("[UNK] UNK", [4, 4, 0]),  # "[UNK]" loses its brackets: the word "unk", never the OOV entry
    ],
)
def test_edge_texts_give_padded_rows_of_exactly_l_ids(text, ids):
    tokenizer = Tokenizer(["", "[UNK]", "a", "b", "unk"], sequence_length=3)
    assert tokenizer.encode_batch([text, "a"]).tolist() == [ids, [2, 0, 0]]
