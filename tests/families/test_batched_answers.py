"""A full batch is answered row for row as a plain per-row reference answers it, byte for byte.

The functions build a batch's answer for all rows at once (one numpy call per step, one
conversion to Python values). Each reference below is the straightforward per-row code: one
argsort, one dict, one PNG at a time. Both get the same onnxruntime outputs (the served model's
own session on the request's real inputs), and their JSON must be the same bytes. Then each row
of a batch must get the answer it gets when sent alone.
"""
from __future__ import annotations

import base64
import io
import random

import numpy as np
import orjson
import pytest
from PIL import Image

import family_models as fm
from drawings import drawn_seven, png_bytes, upscaled
from family_harness import call, with_body
from lepton_serving.protocol import loads


def served_answer(handler, payload: dict) -> tuple[dict, object, dict]:
    """(the route's answer from the served model, the decoded request, the model's outputs)."""
    handler.warm()
    model = handler.plane.model
    request = model.read_predict(loads(orjson.dumps(payload)))
    request.inputs = model.decode_predict(request)
    outputs = model(request.inputs)
    return model.encode_predict(outputs, request), request, outputs


def same_json(actual: dict, expected: dict) -> None:
    option = orjson.OPT_SERIALIZE_NUMPY
    assert orjson.dumps(actual, option=option) == orjson.dumps(expected, option=option)


def through_handler(handler, payload: dict) -> dict:
    code, body = call(handler, with_body(f"{handler.manifest.name}/predict.json", payload))
    assert code == 200, body
    return body


# -- sentiment -----------------------------------------------------------------------------------
def random_texts(count: int, seed: int) -> list[str]:
    """Vocabulary words, unknown words, case and punctuation: every text has at least one word."""
    rng = random.Random(seed)
    words = fm.VOCABULARY[2:] + ["zebra", "Unknown", "naïve", "MOVIE", "Café"]
    marks = ["", "", "!", ",", "...", "?!"]
    return [" ".join(rng.choice(words) + rng.choice(marks) for _ in range(rng.randint(1, 2 * fm.SEQUENCE_LENGTH)))
            for _ in range(count)]


def plain_labelled(scores: np.ndarray, labels: list[str]) -> list[dict]:
    predictions = []
    for row in scores:
        best = int(row.argmax())
        predictions.append({"label": labels[best], "score": float(row[best]),
                            "probabilities": dict(zip(labels, map(float, row)))})
    return predictions


def test_64_texts_are_labelled_row_for_row_like_the_plain_reference(sentiment):
    texts = random_texts(64, seed=1)
    answer, _, outputs = served_answer(sentiment, {"texts": texts})
    same_json(answer, {"predictions": plain_labelled(outputs["probabilities"], ["negative", "positive"])})


def test_each_of_64_texts_gets_the_answer_it_gets_alone(sentiment):
    texts = random_texts(64, seed=2)
    batch = through_handler(sentiment, {"texts": texts})["predictions"]
    for text, together in zip(texts, batch, strict=True):
        (alone,) = through_handler(sentiment, {"text": text})["predictions"]
        assert together["label"] == alone["label"]
        assert together["probabilities"] == pytest.approx(alone["probabilities"], rel=1e-6)


# -- recommender ---------------------------------------------------------------------------------
def plain_recommendations(scores: np.ndarray, users: list[int], k: int, exclude: list[int]) -> dict:
    excluded = np.asarray(exclude, dtype=np.int64)
    results = []
    for user, row in zip(users, scores):
        order = np.argsort(-row, kind="stable")
        if excluded.size:
            order = order[~np.isin(order, excluded)]
        results.append({"user_id": user, "items": [{"item_id": int(i), "score": float(row[i])} for i in order[:k]]})
    return {"recommendations": results}


@pytest.mark.parametrize(
    ("k", "exclude"),
    [
        (1, []),
        (10, [3, 3, 11, 0]),  # a repeated id excludes the item once
        (fm.NUM_ITEMS, []),  # k at the catalogue size: the whole ranking
        (fm.NUM_ITEMS, [5, 6, 7]),  # k above what is left: what is left
        (5, list(range(fm.NUM_ITEMS - 2))),  # two items left
    ],
)
def test_64_users_are_ranked_row_for_row_like_the_plain_reference(recommender, k, exclude):
    rng = np.random.default_rng(k)
    users = rng.integers(0, fm.NUM_USERS, 62).tolist() + [0, fm.NUM_USERS - 1]  # duplicates, both ends
    answer, _, outputs = served_answer(recommender, {"user_ids": users, "k": k, "exclude": exclude})
    same_json(answer, plain_recommendations(outputs["scores"], users, k, exclude))


def test_each_of_64_users_gets_the_ranking_they_get_alone(recommender):
    users = np.random.default_rng(5).integers(0, fm.NUM_USERS, 64).tolist()
    batch = through_handler(recommender, {"user_ids": users, "k": 7, "exclude": [1, 2]})["recommendations"]
    for user, together in zip(users, batch, strict=True):
        (alone,) = through_handler(recommender, {"user_id": user, "k": 7, "exclude": [1, 2]})["recommendations"]
        assert [i["item_id"] for i in together["items"]] == [i["item_id"] for i in alone["items"]]
        assert [i["score"] for i in together["items"]] == pytest.approx([i["score"] for i in alone["items"]], rel=1e-6)


# -- digits ----------------------------------------------------------------------------------------
def plain_digits(probabilities: np.ndarray, k: int, pixels: np.ndarray | None) -> dict:
    predictions = []
    for n, row in enumerate(probabilities):
        order = np.argsort(-row, kind="stable")[:k]
        best = int(order[0])
        predictions.append({"digit": best, "score": float(row[best]),
                            "top_k": [{"digit": int(i), "probability": float(row[i])} for i in order],
                            "probabilities": [float(p) for p in row]})
        if pixels is not None:
            predictions[-1]["pixels"] = np.round(pixels[n].astype(np.float64), 2).tolist()
    return {"predictions": predictions}


@pytest.mark.parametrize("k", [1, 3, 10])
def test_32_pixel_arrays_are_read_row_for_row_like_the_plain_reference(digits, k):
    from sklearn.datasets import load_digits

    images = load_digits().images[:32]
    answer, _, outputs = served_answer(digits, {"instances": images.tolist(), "k": k})
    same_json(answer, plain_digits(outputs["probabilities"], k, None))


def test_8_images_are_read_row_for_row_like_the_plain_reference_pixels_included(digits):
    from sklearn.datasets import load_digits

    images = [b64(png_bytes(upscaled(image))) for image in load_digits().images[:7]] + [b64(png_bytes(drawn_seven()))]
    answer, request, outputs = served_answer(digits, {"images": images, "k": 4})
    same_json(answer, plain_digits(outputs["probabilities"], 4, request.options["pixels"]))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- generator -------------------------------------------------------------------------------------
def test_64_drawn_images_are_onnxruntimes_and_each_png_shows_its_pixels_scaled_16_times(generator):
    answer, request, outputs = served_answer(generator, {"digit": 4, "count": 64, "seed": 11})
    drawn = outputs["image"]
    assert len(answer["images"]) == 64
    for image, pixels in zip(answer["images"], drawn, strict=True):
        np.testing.assert_array_equal(image["pixels"], pixels)
        # the plain reference: grey levels of this one image, each cell a 16x16 square
        grey = np.round(255.0 * (1.0 - np.clip(pixels.astype(np.float64) / 16.0, 0.0, 1.0))).astype(np.uint8)
        picture = Image.open(io.BytesIO(base64.b64decode(image["png"])), formats=["PNG"])
        assert picture.mode == "L"
        np.testing.assert_array_equal(np.asarray(picture), np.kron(grey, np.ones((16, 16), np.uint8)))


def test_an_image_drawn_in_a_batch_of_64_is_the_one_drawn_alone_from_its_latent_vector(generator):
    from generator.sampling import latent_vectors

    together = through_handler(generator, {"digit": 2, "count": 64, "seed": 5})["images"]
    z = latent_vectors(5, 64, fm.LATENT_DIM)
    for row in (0, 31, 63):
        alone = fm.run(fm.generator_model(), {"z": z[row:row + 1], "label": np.array([2], np.int64)})["image"][0]
        np.testing.assert_allclose(together[row]["pixels"], alone, rtol=1e-6, atol=1e-6)
