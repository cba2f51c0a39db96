"""The digits function end to end: events, both routes against onnxruntime, images, bad input."""
from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image

import family_models as fm
from drawings import drawn_seven, png_bytes, upscaled
from eventfiles import load_event
from family_harness import assert_refused, body_of, call, with_body

PREDICT = "digits/predict-image.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def expected_probabilities(images: np.ndarray) -> np.ndarray:
    return fm.run(fm.digits_model(), {"image": np.asarray(images, dtype=np.float32)})["probabilities"]


@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.images.astype(np.float32), data.target


def test_event_pixels_are_sklearn_digits_zero_and_one(sklearn_digits):
    # GIVEN the events' hard-written 8x8 arrays WHEN compared with sklearn THEN they are images 0 and 1
    images, targets = sklearn_digits
    data = body_of("digits/infer.json")["inputs"][0]["data"]
    np.testing.assert_array_equal(np.asarray(data, np.float32), images[:2])
    assert targets[:2].tolist() == [0, 1]


def test_infer_returns_what_onnxruntime_computes(digits):
    code, body = call(digits, load_event("digits/infer.json"))
    images = np.asarray(body_of("digits/infer.json")["inputs"][0]["data"], np.float32)
    assert code == 200 and body["id"] == "req-1" and body["model_version"] == "1"
    (output,) = body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("probabilities", "FP32", [2, 10])
    np.testing.assert_allclose(output["data"], expected_probabilities(images).ravel(), rtol=1e-6)


def test_metadata_is_the_graphs_signature(digits):
    _, body = call(digits, load_event("digits/metadata.json"))
    assert body["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 8, 8]}]
    assert body["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]


def test_predict_pixels_gives_digit_probabilities_and_top_k_from_onnxruntime(digits, sklearn_digits):
    images, _ = sklearn_digits
    code, body = call(digits, with_body(PREDICT, {"instances": images[10:13].tolist(), "k": 4}))
    expected = expected_probabilities(images[10:13])
    assert code == 200 and len(body["predictions"]) == 3
    for prediction, row in zip(body["predictions"], expected):
        ranked = sorted(range(10), key=lambda d: -row[d])[:4]  # independent of the function's argsort
        assert prediction["digit"] == ranked[0]
        assert [t["digit"] for t in prediction["top_k"]] == ranked
        np.testing.assert_allclose([t["probability"] for t in prediction["top_k"]], row[ranked], rtol=1e-6)
        np.testing.assert_allclose(prediction["probabilities"], row, rtol=1e-6)
        assert "pixels" not in prediction


def test_predict_k_defaults_to_three(digits):
    _, body = call(digits, load_event("digits/predict-pixels.json"))
    assert len(body["predictions"][0]["top_k"]) == 3


def test_predict_image_feeds_the_graph_the_array_it_reports(digits):
    # GIVEN a drawn 7 WHEN predicted THEN the answer is onnxruntime's on the 8x8 the response echoes
    code, body = call(digits, with_body(PREDICT, {"image": b64(png_bytes(drawn_seven()))}))
    (prediction,) = body["predictions"]
    pixels = np.asarray(prediction["pixels"], np.float32)
    assert code == 200 and pixels.shape == (8, 8) and 0 <= pixels.min() and pixels.max() == 16
    np.testing.assert_allclose(prediction["probabilities"], expected_probabilities(pixels[None])[0], atol=1e-3)
    assert prediction["digit"] == 7


def test_an_upscaled_sklearn_digit_png_decodes_back_to_its_8x8_array(digits, sklearn_digits):
    # GIVEN sklearn digits drawn 16x bigger, dark ink on white paper with a margin, as PNG files
    images, _ = sklearn_digits
    picks = list(range(0, len(images), 60))
    payload = {"images": [b64(png_bytes(upscaled(images[i]))) for i in picks]}
    # WHEN sent through the friendly route
    code, body = call(digits, with_body(PREDICT, payload))
    assert code == 200
    decoded = np.asarray([p["pixels"] for p in body["predictions"]], np.float32)
    originals = images[picks]
    # THEN a digit centred like the NIST originals (equal empty columns each side, ink up to 16)
    # comes back exactly, up to 8-bit grey rounding (16 / 255 / 2 = 0.031) ...
    inked = originals.sum(axis=1) > 0
    centred = (inked.argmax(axis=1) == inked[:, ::-1].argmax(axis=1)) & (originals.max(axis=(1, 2)) == 16)
    assert centred.sum() >= len(picks) // 2
    assert np.abs(decoded[centred] - originals[centred]).max() <= 0.05
    # ... an off-centre one moves by at most a block (it is re-centred), and overall the arrays agree
    error = np.abs(decoded - originals).mean(axis=(1, 2))
    assert error.max() < 5.0 and np.median(error) < 0.01
    # AND the trained-like model reads the same digit from the PNG as from the original array
    from_png = [p["digit"] for p in body["predictions"]]
    from_array = expected_probabilities(originals).argmax(axis=1).tolist()
    assert np.mean(np.equal(from_png, from_array)) >= 0.9
    assert all(a == b for a, b, c in zip(from_png, from_array, centred) if c)


def test_predict_accepts_jpeg_transparent_png_data_urls_and_line_breaks(digits):
    seven = drawn_seven()
    jpeg = png_bytes(seven.convert("RGB"), "JPEG", quality=90)
    canvas = Image.new("RGBA", seven.size, (0, 0, 0, 0))  # black ink on transparency, like a web canvas
    canvas.putalpha(Image.eval(seven, lambda v: 255 - v))
    wrapped = "\n".join(b64(png_bytes(seven))[i:i + 76] for i in range(0, len(b64(png_bytes(seven))), 76))
    payload = {"images": [b64(jpeg), b64(png_bytes(canvas)), "data:image/png;base64," + b64(png_bytes(seven)),
                          wrapped]}
    code, body = call(digits, with_body(PREDICT, payload))
    assert code == 200
    assert [p["digit"] for p in body["predictions"]] == [7, 7, 7, 7]
    reference = np.asarray(body["predictions"][3]["pixels"])
    for prediction in body["predictions"][:3]:
        assert np.abs(np.asarray(prediction["pixels"]) - reference).mean() < 0.5


def test_light_ink_on_dark_paper_reads_like_dark_ink_on_light(digits):
    seven = drawn_seven()
    inverted = Image.eval(seven, lambda v: 255 - v)
    _, body = call(digits, with_body(PREDICT, {"images": [b64(png_bytes(seven)), b64(png_bytes(inverted))]}))
    first, second = body["predictions"]
    assert first["pixels"] == second["pixels"]


def oversized_png() -> str:
    # Noise does not compress: a 700x700 RGB PNG is about 1.4 MB.
    noise = np.random.default_rng(0).integers(0, 256, size=(700, 700, 3), dtype=np.uint8)
    return b64(png_bytes(Image.fromarray(noise)))


def huge_canvas_png(side: int, height: int = 10) -> str:
    # A blank canvas compresses to a few KB however many pixels it declares: a decompression bomb.
    return b64(png_bytes(Image.new("1", (side, height))))


def truncated_png() -> str:
    data = png_bytes(drawn_seven(96))
    return b64(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"image": "%%%not base64%%%"}, 400, "not valid base64"),
        ({"image": b64(b"\x89PNG but not really")}, 400, "not a PNG or JPEG image"),
        ({"image": b64(b"GIF89a" + bytes(40))}, 400, "not a PNG or JPEG image"),
        ({"image": ""}, 400, "non-empty base64 string"),
        ({"image": 42}, 400, "base64 string"),
        ({"image": truncated_png()}, 400, "truncated or corrupt"),
        ({"image": b64(png_bytes(Image.new("L", (40, 40), 255)))}, 400, "no digit"),
        ({"image": oversized_png()}, 422, "limit is 1048576 bytes"),
        ({"image": huge_canvas_png(5000)}, 422, "5000x10 pixels; the limit is 4096x4096"),
        # 94 KiB of base64 that declares 16.7 million pixels: refused from its header, never decoded
        ({"image": huge_canvas_png(4096, 4096)}, 422, "4096x4096 = 16,777,216 pixels; the limit is 4,194,304"),
        # five of the largest allowed images: the request's decoded-pixel budget runs out at the fifth
        ({"images": [huge_canvas_png(2048, 2048)] * 5}, 422, "'images'[4] takes the request past 16,777,216"),
        ({"images": "abc"}, 400, "'images' must be a list"),
        ({"images": [b64(png_bytes(drawn_seven()))] * 33}, 422, "maximum of 32"),
        ({"images": []}, 400, "at least one"),
        ({"pixels": [[1] * 8] * 7}, 400, "8 rows of 8 numbers"),
        ({"pixels": [[255] * 8] * 8}, 400, "must be 0..16"),
        ({"pixels": [[-1] * 8] * 8}, 400, "must be 0..16"),
        ({"pixels": [["a"] * 8] * 8}, 400, "only numbers"),
        ({"instances": [[[1] * 8] * 8], "k": 11}, 422, "only 10 classes"),
        ({"instances": [[[1] * 8] * 8], "k": 0}, 400, "'k' must be a whole number"),
        ({"instances": [[[1] * 8] * 8], "k": 2.5}, 400, "'k' must be a whole number"),
        ({"image": "x", "pixels": [[0] * 8] * 8}, 400, "exactly one of"),
        ({"digits": []}, 400, "exactly one of"),
        ([1, 2], 400, "exactly one of"),
    ],
)
def test_bad_friendly_requests_get_a_clear_4xx(digits, payload, status, fragment):
    code, body = call(digits, with_body(PREDICT, payload))
    assert_refused(code, body, status, fragment)


def test_a_decompression_bomb_beyond_pillows_own_limit_is_refused_before_decoding(digits):
    # 20000 x 10000 declares 200 M pixels: Pillow's guard fires in open(), before our size check.
    code, body = call(digits, with_body(PREDICT, {"image": b64(png_bytes(Image.new("1", (20000, 10000))))}))
    assert code == 422 and "too many pixels" in body["error"]


@pytest.mark.parametrize(
    ("tensor", "status", "fragment"),
    [
        ({"name": "image", "shape": [1, 8, 8], "datatype": "INT64", "data": [[[0] * 8] * 8]}, 400, "datatype FP32"),
        ({"name": "image", "shape": [1, 64], "datatype": "FP32", "data": [[0] * 64]}, 400, "shape [-1, 8, 8]"),
        ({"name": "image", "shape": [33, 8, 8], "datatype": "FP32", "data": [[[0] * 8] * 8] * 33}, 422, "maximum of 32"),
        ({"name": "image", "shape": [1, 8, 8], "datatype": "FP32", "data": [[[17] * 8] * 8]}, 400, "must be 0..16"),
    ],
)
def test_bad_v2_requests_get_a_clear_4xx(digits, tensor, status, fragment):
    code, body = call(digits, with_body("digits/infer.json", {"inputs": [tensor]}))
    assert_refused(code, body, status, fragment)
