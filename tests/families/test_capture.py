"""Payload capture through the handlers Lambda imports: what a record holds for each family, what
it leaves out (redacted inputs, tensors above the size cap), and which requests it never records."""
from __future__ import annotations

import base64
import hashlib
import json

import numpy as np
import pytest

import family_models as fm
from drawings import drawn_seven, png_bytes
from family_harness import body_of, call, with_body
from lepton_deploy.captures import CaptureRecord
from lepton_serving.capture import MARKER, Capture, CaptureSettings, tensor_sha256
from lepton_serving.errors import ConfigError
from lepton_serving.origin import PRE_TRAFFIC, REPLAY, mark


def capturing(serve_version, module: str, manifest, model_bytes, **env: str):
    """The family's handler, capturing every request (LEPTON_CAPTURE_SAMPLE_RATE=1), its records kept."""
    handler = __import__(f"{module}.handler", fromlist=["lambda_handler"]).lambda_handler
    configured = serve_version(handler, manifest, model_bytes, LEPTON_CAPTURE_SAMPLE_RATE="1",
                               AWS_LAMBDA_FUNCTION_NAME=f"lepton-test-{module}", AWS_LAMBDA_FUNCTION_VERSION="4", **env)
    configured.records = []
    configured.with_capture_output(configured.records.append)
    return configured


def records(handler) -> list[CaptureRecord]:
    found = []
    for line in handler.records:
        assert line.startswith(MARKER) and line.endswith("\n") and line.count("\n") == 1  # one log event each
        found.append(CaptureRecord.from_dict(json.loads(line)))
    handler.records.clear()
    return found


@pytest.fixture(scope="module")
def digits(serve_version):
    return capturing(serve_version, "digits", fm.digits_manifest(), fm.digits_model())


@pytest.fixture(scope="module")
def sentiment(serve_version):
    return capturing(serve_version, "sentiment", fm.sentiment_manifest(), fm.sentiment_model(),
                     LEPTON_CAPTURE_REDACT="text")


@pytest.fixture(scope="module")
def generator(serve_version):
    return capturing(serve_version, "generator", fm.generator_manifest(), fm.generator_model(),
                     LEPTON_CAPTURE_MAX_TENSOR_BYTES="1024")


def test_a_v2_request_is_recorded_with_the_tensors_the_model_took_and_gave(digits):
    # GIVEN a caller's V2 request for two 8x8 images
    event = with_body("digits/infer.json", body_of("digits/infer.json"))
    # WHEN the function answers it
    code, body = call(digits, event)
    # THEN one record says who answered what, with the inputs and every output in full
    assert code == 200
    (record,) = records(digits)
    assert (record.model, record.version, record.function, record.function_version, record.route, record.status) == (
        "digits", "1", "lepton-test-digits", "4", "infer", 200)
    assert record.id == event["requestContext"]["requestId"] and record.latency_ms > 0
    sent = body_of("digits/infer.json")["inputs"][0]
    assert record.inputs[0].name == "image" and list(record.inputs[0].shape) == sent["shape"]
    np.testing.assert_array_equal(record.inputs[0].array().ravel(), np.asarray(sent["data"], np.float32).ravel())
    answered = body["outputs"][0]
    np.testing.assert_allclose(record.outputs[0].array().ravel(), answered["data"], rtol=1e-6)
    assert record.replayable


def test_an_image_sent_to_the_friendly_route_is_recorded_as_the_8x8_the_model_read(digits):
    # GIVEN a drawn 7 as a PNG of 48x48 pixels
    payload = {"image": base64.b64encode(png_bytes(drawn_seven())).decode(), "k": 1}
    # WHEN the friendly route reads it
    code, body = call(digits, with_body("digits/predict-image.json", payload))
    # THEN the record holds the 8x8 array the answer echoes as what the model saw, not the PNG
    assert code == 200
    (record,) = records(digits)
    assert record.route == "predict" and record.inputs[0].shape == (1, 8, 8)
    np.testing.assert_allclose(record.inputs[0].array()[0], body["predictions"][0]["pixels"], atol=0.006)


def test_a_redacted_input_is_recorded_by_name_type_and_shape_only(sentiment):
    # GIVEN LEPTON_CAPTURE_REDACT=text
    code, _ = call(sentiment, with_body("sentiment/predict-batch.json", body_of("sentiment/predict-batch.json")))
    assert code == 200
    (record,) = records(sentiment)
    text = record.inputs[0]
    # THEN no trace of the texts: no data and no hash (a hash of a short text can be guessed back)
    assert (text.name, text.datatype, text.omitted, text.data, text.sha256) == ("text", "BYTES", "redacted", None, None)
    assert text.shape == (len(body_of("sentiment/predict-batch.json")["texts"]),)
    assert "movie" not in json.dumps(sentiment_line(sentiment))
    # AND the outputs are still there, but the request can never be replayed
    assert record.outputs[0].complete and not record.replayable


def sentiment_line(handler) -> dict:
    call(handler, with_body("sentiment/predict.json", body_of("sentiment/predict.json")))
    return json.loads(handler.records.pop())


def test_a_tensor_above_the_size_cap_is_recorded_as_its_shape_and_sha256(generator):
    # GIVEN a cap of 1024 bytes and a request for 8 images (8 x 8 x 8 float32 = 2048 bytes out)
    code, body = call(generator, with_body("generator/predict.json", {"digit": 3, "count": 8, "seed": 5}))
    assert code == 200
    (record,) = records(generator)
    z, label = record.inputs
    image = record.outputs[0]
    # THEN the small inputs are kept (8 x 32 float32 is exactly 1024 bytes), the images are not
    assert z.complete and label.complete and list(label.data) == [3] * 8
    assert (image.omitted, image.data, image.shape) == ("size", None, (8, 8, 8))
    # AND the hash is of the answer's values as the binary extension lays them out (little-endian float32)
    answered = np.asarray([i["pixels"] for i in body["images"]], dtype="<f4")
    assert image.sha256 == hashlib.sha256(answered.tobytes()).hexdigest() == tensor_sha256(answered)


def test_a_refused_request_is_recorded_with_its_status_and_no_tensors(digits):
    code, _ = call(digits, with_body("digits/infer-bad-range.json", body_of("digits/infer-bad-range.json")))
    assert 400 <= code < 500
    (record,) = records(digits)
    assert record.status == code and record.inputs == () and record.outputs == () and not record.replayable


@pytest.mark.parametrize("origin", [PRE_TRAFFIC, REPLAY])
def test_the_deployers_own_calls_and_other_routes_are_never_recorded(digits, origin):
    code, _ = call(digits, mark(with_body("digits/infer.json", body_of("digits/infer.json")), origin))
    assert code == 200
    code, _ = call(digits, with_body("digits/metadata.json", None) | {"body": None})
    assert code == 200
    assert records(digits) == []


def test_a_sample_rate_records_that_share_of_requests():
    # GIVEN a 0.25 rate and draws spread evenly over [0, 1)
    draws = iter(i / 100 for i in range(100))
    lines: list[str] = []
    capture = Capture(CaptureSettings(0.25), "tabular", write=lines.append, draw=lambda: next(draws))
    # WHEN 100 requests come
    for i in range(100):
        exchange = capture.begin("infer", str(i))
        if exchange is not None:
            capture.end(exchange, 200, 0.001)
    # THEN exactly the draws below the rate are recorded
    assert [json.loads(line)["id"] for line in lines] == [str(i) for i in range(25)]
    assert Capture(CaptureSettings(0.0), "tabular").begin("infer", "x") is None


@pytest.mark.parametrize("env, fragment", [
    ({"LEPTON_CAPTURE_SAMPLE_RATE": "1.5"}, "LEPTON_CAPTURE_SAMPLE_RATE must be between 0 and 1, got '1.5'"),
    ({"LEPTON_CAPTURE_SAMPLE_RATE": "all"}, "LEPTON_CAPTURE_SAMPLE_RATE must be a number, got 'all'"),
    ({"LEPTON_CAPTURE_SAMPLE_RATE": "nan"}, "LEPTON_CAPTURE_SAMPLE_RATE must be a finite number, got 'nan'"),
    ({"LEPTON_CAPTURE_MAX_TENSOR_BYTES": "-1"}, "LEPTON_CAPTURE_MAX_TENSOR_BYTES must be at least 0, got '-1'"),
    ({"LEPTON_CAPTURE_MAX_TENSOR_BYTES": "64k"}, "LEPTON_CAPTURE_MAX_TENSOR_BYTES must be a whole number, got '64k'"),
])
def test_a_wrong_capture_setting_is_refused_at_cold_start_never_replaced_by_a_default(env, fragment):
    with pytest.raises(ConfigError) as refused:
        CaptureSettings.from_env(env)
    assert fragment in refused.value.message


def test_capture_settings_read_from_the_environment():
    settings = CaptureSettings.from_env({"LEPTON_CAPTURE_SAMPLE_RATE": "0.05", "LEPTON_CAPTURE_REDACT": " ssn, text ,",
                                         "LEPTON_CAPTURE_MAX_TENSOR_BYTES": "2048"})
    assert settings == CaptureSettings(0.05, frozenset({"ssn", "text"}), 2048)
    assert CaptureSettings.from_env({}) == CaptureSettings()  # unset: capture off
