"""The generator function end to end: events, both routes against onnxruntime, seeds, PNGs, bad input."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

import family_models as fm
from eventfiles import load_event
from family_harness import assert_refused, body_of, call, with_body

PREDICT = "generator/predict.json"
INFER = "generator/infer.json"


def drawn(z: np.ndarray, digits: list[int] | np.ndarray, model: bytes | None = None) -> np.ndarray:
    """What onnxruntime draws for these latent vectors and digits: the reference for every answer."""
    label = np.asarray(digits, dtype=np.int64)
    return fm.run(model or fm.generator_model(), {"z": np.asarray(z, np.float32), "label": label})["image"]


def seeded(seed: int, count: int, latent_dim: int = fm.LATENT_DIM) -> np.ndarray:
    """The documented sampler, written out here rather than imported from the function."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim), dtype=np.float32)


def test_infer_returns_the_images_onnxruntime_draws(generator):
    code, body = call(generator, load_event(INFER))
    inputs = {t["name"]: t["data"] for t in body_of(INFER)["inputs"]}
    assert code == 200 and body["id"] == "req-1" and body["model_version"] == "1"
    (output,) = body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("image", "FP32", [2, 8, 8])
    np.testing.assert_allclose(output["data"], drawn(inputs["z"], inputs["label"]).ravel(), rtol=1e-6)


def test_metadata_is_the_graphs_two_input_signature(generator):
    _, body = call(generator, load_event("generator/metadata.json"))
    assert body["inputs"] == [{"name": "z", "datatype": "FP32", "shape": [-1, fm.LATENT_DIM]},
                              {"name": "label", "datatype": "INT64", "shape": [-1]}]
    assert body["outputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 8, 8]}]


def test_predict_draws_count_images_of_the_digit_from_the_seed_exactly(generator):
    # GIVEN digit 3, 4 images, seed 7 WHEN predicting THEN the pixels are onnxruntime's, bit for bit
    code, body = call(generator, load_event(PREDICT))
    assert code == 200
    assert (body["digit"], body["seed"], len(body["images"])) == (3, 7, 4)
    pixels = np.asarray([image["pixels"] for image in body["images"]], dtype=np.float32)
    np.testing.assert_array_equal(pixels, drawn(seeded(7, 4), [3] * 4))
    assert body["model_name"] == "generator" and body["model_version"] == "1"


def test_the_same_seed_gives_the_same_images_and_another_seed_others(generator):
    def pixels(seed: int) -> np.ndarray:
        _, body = call(generator, with_body(PREDICT, {"digit": 5, "count": 3, "seed": seed}))
        return np.asarray([image["pixels"] for image in body["images"]])

    np.testing.assert_array_equal(pixels(11), pixels(11))
    assert not np.allclose(pixels(11), pixels(12))


def test_without_a_seed_one_is_picked_returned_and_reproduces_the_images(generator):
    code, first = call(generator, load_event("generator/predict-no-seed.json"))
    assert code == 200 and first["digit"] == 7 and len(first["images"]) == 1  # count defaults to 1
    assert type(first["seed"]) is int and 0 <= first["seed"] < 2**32
    _, again = call(generator, with_body(PREDICT, {"digit": 7, "seed": first["seed"]}))
    assert again["images"] == first["images"]
    _, other = call(generator, load_event("generator/predict-no-seed.json"))
    assert other["seed"] != first["seed"]  # 1 in 2**32 to collide


def test_whole_number_floats_count_as_integers(generator):
    _, ints = call(generator, with_body(PREDICT, {"digit": 3, "count": 2, "seed": 9}))
    code, floats = call(generator, with_body(PREDICT, {"digit": 3.0, "count": 2.0, "seed": 9.0}))
    assert code == 200 and floats["images"] == ints["images"] and floats["seed"] == 9


def test_the_png_is_the_image_scaled_16_times_with_dark_ink_on_white(generator):
    _, body = call(generator, with_body(PREDICT, {"digit": 0, "count": 1, "seed": 3}))
    image = body["images"][0]
    picture = Image.open(io.BytesIO(base64.b64decode(image["png"])), formats=["PNG"])
    assert (picture.format, picture.mode, picture.size) == ("PNG", "L", (128, 128))
    grey = np.asarray(picture)
    expected = np.round(255 * (1 - np.clip(np.asarray(image["pixels"]) / 16.0, 0, 1))).astype(np.uint8)
    # every 16x16 block is one flat cell of the 8x8 image
    np.testing.assert_array_equal(grey, np.kron(expected, np.ones((16, 16), np.uint8)))
    assert grey.min() < 64 and grey.max() > 230  # a zero has both ink and paper


def test_images_of_each_digit_are_read_as_that_digit_by_the_digits_function(generator, digits):
    # GIVEN 16 images per digit from the generator WHEN the digits function reads their pixels
    # THEN it finds the digit asked for (the test model draws class means plus small jitter)
    correct = 0
    for digit in range(10):
        _, drawn_body = call(generator, with_body(PREDICT, {"digit": digit, "count": 16, "seed": 100 + digit}))
        pixels = [image["pixels"] for image in drawn_body["images"]]
        code, read = call(digits, with_body("digits/predict-instances.json", {"instances": pixels}))
        assert code == 200
        correct += sum(p["digit"] == digit for p in read["predictions"])
    assert correct / 160 >= 0.9


def test_the_latent_size_comes_from_the_manifest(serve_version):
    from generator.handler import lambda_handler

    model = fm.generator_model(latent_dim=8)
    manifest = fm.manifest(model, "generator", fm.generator_preprocessing(8), [str(d) for d in range(10)],
                           [{"z": seeded(1, 1, 8), "label": np.array([4], np.int64)}], version=2)
    handler = serve_version(lambda_handler, manifest, model)
    code, body = call(handler, with_body(PREDICT, {"digit": 4, "count": 2, "seed": 5}))
    assert code == 200
    pixels = np.asarray([image["pixels"] for image in body["images"]], dtype=np.float32)
    np.testing.assert_array_equal(pixels, drawn(seeded(5, 2, 8), [4, 4], model))


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"digit": 12}, 400, "'digit' must be a whole number from 0 to 9, got 12"),
        ({"digit": -1}, 400, "'digit' must be a whole number from 0 to 9, got -1"),
        ({"digit": 3.5}, 400, "'digit' must be a whole number from 0 to 9, got 3.5"),
        ({"digit": "3"}, 400, "'digit' must be a whole number from 0 to 9, got '3'"),
        ({"digit": True}, 400, "'digit' must be a whole number from 0 to 9, got True"),
        ({"digit": None}, 400, "'digit' must be a whole number from 0 to 9, got None"),
        ({}, 400, 'send {"digit": 3}'),
        ([3], 400, 'send {"digit": 3}'),
        ({"digit": 3, "count": 1000}, 422, "'count' is 1000; the most one request draws is 64 images"),
        ({"digit": 3, "count": 65}, 422, "the most one request draws is 64 images"),
        ({"digit": 3, "count": 0}, 400, "'count' must be a whole number from 1 to 64, got 0"),
        ({"digit": 3, "count": 2.5}, 400, "'count' must be a whole number from 1 to 64, got 2.5"),
        ({"digit": 3, "seed": "seven"}, 400, "'seed' must be a whole number from 0 to 9223372036854775807, got 'seven'"),
        ({"digit": 3, "seed": 1.5}, 400, "'seed' must be a whole number"),
        ({"digit": 3, "seed": -1}, 400, "'seed' must be a whole number"),
        ({"digit": 3, "seed": 2**63}, 400, "'seed' must be a whole number"),
        ({"digit": 3, "seed": [7]}, 400, "'seed' must be a whole number"),
        ({"digit": 3, "cnt": 4}, 400, "unknown field(s) 'cnt'; this route takes 'digit', 'count', 'seed'"),
    ],
)
def test_bad_friendly_requests_are_refused_with_a_message(generator, payload, status, fragment):
    assert_refused(*call(generator, with_body(PREDICT, payload)), status, fragment)


def v2(z: list, labels: list, z_shape: list[int] | None = None, label_type: str = "INT64") -> dict:
    return {"inputs": [{"name": "z", "shape": z_shape or [len(z), len(z[0])], "datatype": "FP32", "data": z},
                       {"name": "label", "shape": [len(labels)], "datatype": label_type, "data": labels}]}


Z = seeded(0, 65).tolist()


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        (v2(Z[:1], [10]), 400, "input 'label': digit class(es) 10 out of range; labels are whole numbers 0..9"),
        (v2(Z[:3], [1, -2, 12]), 400, "digit class(es) -2, 12 out of range"),
        (v2([Z[0][:16]], [3]), 400, f"input 'z' must have shape [-1, {fm.LATENT_DIM}] (-1 = any), got [1, 16]"),
        (v2(Z[:2], [3]), 400, "inputs disagree on the batch size: [1, 2]"),
        (v2(Z[:1], [2.5]), 400, "input 'label': INT64 data must be whole numbers"),
        (v2(Z[:1], [3], label_type="FP32"), 400, "label"),
        (v2(Z, list(range(10)) * 6 + [0] * 5), 422, "batch size 65 is above this model's maximum of 64"),
        ({"inputs": v2(Z[:1], [3])["inputs"][:1]}, 400, "missing input(s) label"),
    ],
)
def test_bad_v2_requests_are_refused_with_a_message(generator, payload, status, fragment):
    assert_refused(*call(generator, with_body(INFER, payload)), status, fragment)
