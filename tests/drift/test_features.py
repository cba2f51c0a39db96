"""Each family's features, read from hand-made tensors whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest
from lepton_drift.errors import ProfileError
from lepton_drift.features import (DigitFeatures, GeneratorFeatures, GenericFeatures, RecommenderFeatures,
                                   TextFeatures, extractor_for)
from lepton_serving.manifest import Manifest, TensorSpec
from lepton_serving.vectorizer import Tokenizer

DIGITS = [str(d) for d in range(10)]


def digit_scores(label: int, rows: int) -> np.ndarray:
    scores = np.zeros((rows, 10), np.float32)
    scores[:, label] = 1
    return scores


def test_digits_ink_intensity_and_centroid_of_a_known_image() -> None:
    # GIVEN a full-ink 2x2 block at rows 1-2, columns 5-6, and the same image inverted (white on black)
    image = np.zeros((1, 8, 8), np.float32)
    image[0, 1:3, 5:7] = 16
    inverted = 16 - image
    extractor = DigitFeatures("image", 16.0, "probabilities", DIGITS)
    found = extractor.columns({"image": np.concatenate([image, inverted])}, {"probabilities": digit_scores(3, 2)})
    # THEN ink is 4 of 64 cells, centred at (1.5, 5.5); inverted, ink covers 60 of 64
    assert found["ink"].tolist() == [4 / 64, 60 / 64]
    assert found["intensity"].tolist() == [4 / 64, 60 / 64]
    assert found["centroid_row"][0] == 1.5 and found["centroid_column"][0] == 5.5
    assert found["prediction"].tolist() == ["3", "3"]


def test_a_blank_digit_has_no_centroid() -> None:
    extractor = DigitFeatures("image", 16.0, "probabilities", DIGITS)
    found = extractor.columns({"image": np.zeros((1, 8, 8))}, {"probabilities": digit_scores(0, 1)})
    assert np.isnan(found["centroid_row"][0]) and found["ink"][0] == 0


def test_text_words_and_unknown_words_as_the_tokeniser_splits_them() -> None:
    tokenizer = Tokenizer(["", "[UNK]", "good", "movie"], sequence_length=4)
    extractor = TextFeatures("text", tokenizer, "probabilities", ["negative", "positive"])
    texts = np.asarray(["Good movie!", "a GOOD, good zebra movie of six words", "!!!"], dtype=object)
    scores = np.asarray([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]], np.float32)
    found = extractor.columns({"text": texts}, {"probabilities": scores})
    # every word counts, not only the first sequence_length the model reads
    assert found["words"].tolist() == [2, 8, 0]
    assert found["oov_rate"][:2].tolist() == [0.0, 5 / 8] and np.isnan(found["oov_rate"][2])
    assert found["prediction"].tolist() == ["positive", "negative", "negative"]


def test_recommender_known_users_and_the_popularity_of_what_it_recommends() -> None:
    # GIVEN 20 items whose training counts rise with their id, and users 0..9 seen in training
    extractor = RecommenderFeatures("user_id", "scores", known_users=range(10), item_counts=range(20))
    scores = np.stack([np.arange(20.0), -np.arange(20.0)])  # user 3 is shown the most popular items, user 42 the least
    found = extractor.columns({"user_id": np.asarray([3, 42])}, {"scores": scores})
    assert found["user"].tolist() == ["known", "unknown"]
    # top 10 of 20 by score: ids 10..19 (percentiles 10/19..19/19) and ids 0..9
    assert found["recommended_popularity"].tolist() == pytest.approx([np.mean(np.arange(10, 20)) / 19,
                                                                      np.mean(np.arange(10)) / 19])


def test_generator_requested_digits_and_latent_length() -> None:
    extractor = GeneratorFeatures("z", "label", 10)
    z = np.stack([np.ones(4), np.zeros(4)]).astype(np.float32)
    found = extractor.columns({"z": z, "label": np.asarray([7, 0])}, {})
    assert found["digit"].tolist() == ["7", "0"] and found["latent_norm"].tolist() == [1.0, 0.0]


def test_any_other_model_gets_features_from_its_signature() -> None:
    inputs = [TensorSpec("x", "FP32", [-1, 2]), TensorSpec("pixels", "FP32", [-1, 28, 28]),
              TensorSpec("note", "BYTES", [-1]), TensorSpec("age", "INT64", [-1])]
    outputs = [TensorSpec("label_scores", "FP32", [-1, 3]), TensorSpec("value", "FP32", [-1, 1])]
    extractor = GenericFeatures(inputs, outputs, ["a", "b", "c"])
    names = [f.name for f in extractor.features]
    assert names == ["x[0]", "x[1]", "pixels.mean", "pixels.std", "note.length", "age", "prediction", "value"]
    found = extractor.columns(
        {"x": np.asarray([[1, 2]], np.float32), "pixels": np.full((1, 28, 28), 3.0), "note": np.asarray(["hello"], object),
         "age": np.asarray([40])},
        {"label_scores": np.asarray([[0.1, 0.7, 0.2]]), "value": np.asarray([[2.5]])})
    assert {k: (v.tolist()) for k, v in found.items()} == {
        "x[0]": [1.0], "x[1]": [2.0], "pixels.mean": [3.0], "pixels.std": [0.0], "note.length": [5.0], "age": [40.0],
        "prediction": ["b"], "value": [2.5]}


def test_an_unlabelled_classifier_predicts_class_indices_and_its_class_ids_are_categories() -> None:
    # GIVEN a scikit-learn-style export: a label output and a probabilities output, no labels file
    outputs = [TensorSpec("label", "INT64", [-1]), TensorSpec("probabilities", "FP32", [-1, 2])]
    extractor = GenericFeatures([TensorSpec("X", "FP32", [-1, 2])], outputs, None)
    assert [(f.name, f.kind) for f in extractor.features] == [
        ("X[0]", "numeric"), ("X[1]", "numeric"), ("label", "categorical"), ("prediction", "categorical")]
    found = extractor.columns({"X": np.zeros((2, 2))}, {"label": np.asarray([1, 0]),
                                                        "probabilities": np.asarray([[0.2, 0.8], [0.9, 0.1]])})
    assert found["label"].tolist() == ["1", "0"] and found["prediction"].tolist() == ["1", "0"]


def test_a_recommender_profile_without_its_users_is_refused() -> None:
    manifest = Manifest(name="r", version=1, sha256="0" * 64, size=1, family="recommender",
                        inputs=[TensorSpec("user_id", "INT64", [-1])], outputs=[TensorSpec("scores", "FP32", [-1, 5])])
    with pytest.raises(ProfileError, match="known_users"):
        extractor_for(manifest, {})
