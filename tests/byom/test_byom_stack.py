"""End to end, on a copy of the project: a scikit-learn model trained here -> `lepton add` ->
template.yaml still lint-clean -> served by a real local stack (a regressor and a TF-IDF text
pipeline added before `lepton up`, a classifier and a tokenizer + attention model added while it
runs) -> a stock V2 client's answer is onnxruntime's -> `lepton remove` gives template.yaml back
byte for byte, and the stack stops serving it.

The copy's model layer budget (LEPTON_MODEL_LAYER_MAX_BYTES) is lowered to 200 kB, between the
TF-IDF pipeline and the attention model with its tokenizer: the first travels in its version's
layer, the second takes the S3 path, its tokenizer.json too, end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

import own_models
from project_copy import copy_project
from lepton.cli import main
from lepton.local.stack import LocalStack, boot
from lepton.local.stack_settings import StackSettings
from local_stack import aws_environment, free_port, moto_server, serving  # noqa: F401 - fixtures
from onnx_models import run
from stack_models import write_all
from bench.text_models import SENTIMENT_LABELS, SOURCES, TEXTS, offline

LABELS = ["malignant", "benign"]
LAYER_BUDGET = 200_000  # bytes: the TF-IDF pipeline fits, the attention model and its tokenizer do not


def lepton(root: Path, *args: str) -> int:
    """The `lepton` CLI run from the project copy, as a user runs it from their checkout."""
    here = os.getcwd()
    os.chdir(root)
    try:
        return main(list(args))
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def world(tmp_path_factory, moto_server, text_models) -> Iterator[dict]:  # noqa: F811 - the fixture imported above
    """The project copy with `price` and `reviews` added before the stack starts, and the running stack."""
    root = copy_project(tmp_path_factory.mktemp("byom") / "project")
    template = root / "template.yaml"
    template.write_text(template.read_text().replace('LEPTON_MODEL_LAYER_MAX_BYTES: "50331648"',
                                                     f'LEPTON_MODEL_LAYER_MAX_BYTES: "{LAYER_BUDGET}"'))
    original = template.read_bytes()
    regressor, rows = own_models.sklearn_regressor()
    (root.parent / "price.onnx").write_bytes(regressor)
    saved = list(sys.path)
    assert lepton(root, "add", "price", "--model", str(root.parent / "price.onnx"), "--aws-port", "1") == 0
    assert lepton(root, "add", "reviews", "--model", str(text_models.tfidf), "--labels",
                  str(text_models.sentiment_labels), "--aws-port", "1") == 0
    trained = write_all(root / ".lepton" / "artifacts")  # every family, as tests/local_stack.py serves them
    settings = StackSettings(root=root, api_port=free_port(), aws_port=moto_server, train_missing=False,
                             external_aws=True)
    stack = boot(settings, watch=True, api=True)
    try:
        with serving(stack) as api:
            yield {"root": root, "stack": stack, "original": original, "regressor": (regressor, rows), "trained": trained,
                   "api": api, "settings": settings}
    finally:
        stack.stop()
        sys.path[:] = saved


def wait_for(url: str, body: dict, timeout: float = 10.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = requests.post(url, json=body, timeout=10)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_a_model_added_before_lepton_up_is_published_and_served_like_the_trained_ones(world):
    stack: LocalStack = world["stack"]
    assert stack.live_at_start == {**{family: "1" for family in world["trained"]}, "price": "1", "reviews": "1"}
    regressor, rows = world["regressor"]
    answer = requests.post(f"{world['api']}/models/price/predict", json={"instances": rows.tolist()}, timeout=10)
    assert answer.status_code == 200
    np.testing.assert_allclose(answer.json()["predictions"], run(regressor, {"X": rows})["variable"], rtol=1e-6)


def test_the_template_with_added_models_stays_lint_clean(world):
    exe = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(exe), "template.yaml"], capture_output=True, text=True, cwd=world["root"],
                            timeout=300)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_lepton_add_on_a_running_stack_serves_the_model_and_a_stock_v2_client_gets_onnxruntimes_answer(world,
                                                                                                         capsys):
    import tritonclient.http as triton

    root, api = world["root"], world["api"]
    classifier, rows = own_models.sklearn_classifier()
    (root.parent / "churn.onnx").write_bytes(classifier)
    (root.parent / "labels.txt").write_text("\n".join(LABELS) + "\n")
    settings = world["settings"]
    started = time.monotonic()
    code = lepton(root, "add", "churn", "--model", str(root.parent / "churn.onnx"), "--labels",
                  str(root.parent / "labels.txt"), "--port", str(settings.api_port), "--aws-port", str(settings.aws_port))
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0, out
    assert "churn v1: promoted" in out and "/v2/models/churn/infer" in out
    first = wait_for(f"{api}/models/churn/predict", {"instances": rows[:1].tolist()})
    assert first.status_code == 200 and time.monotonic() - started < 30
    expected = run(classifier, {"X": rows})
    client = triton.InferenceServerClient(url=api.removeprefix("http://"))
    features = triton.InferInput("X", list(rows.shape), "FP32")
    features.set_data_from_numpy(rows, binary_data=False)
    result = client.infer("churn", [features], outputs=[triton.InferRequestedOutput("probabilities", binary_data=False),
                                                        triton.InferRequestedOutput("label", binary_data=False)])
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected["probabilities"], rtol=1e-6)
    np.testing.assert_array_equal(result.as_numpy("label"), expected["label"])
    assert result.get_response()["model_version"] == "1"
    best = LABELS[int(expected["probabilities"][0].argmax())]
    assert first.json()["predictions"][0]["label"] == best
    models = requests.get(f"{api}/v2/models/churn", timeout=10).json()
    assert models["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]


def test_the_control_api_and_lepton_models_list_the_added_models(world, capsys):
    assert wait_for(f"{world['api']}/models/churn/predict", {"instances": [[1.0, 2.0, 3.0, 4.0]]}).status_code == 200
    capsys.readouterr()
    assert main(["models", "--endpoint", world["api"], "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert listed["churn"]["live_version"] == 1 and listed["price"]["live_version"] == 1
    assert listed["churn"]["function_name"] == "lepton-local-ChurnFunction"


def test_a_text_pipeline_added_before_lepton_up_answers_raw_strings_from_its_model_layer(world, text_models):
    api = world["api"]
    data = text_models.tfidf.read_bytes()
    expected = run(data, {"text": np.array(TEXTS, dtype=object)})
    friendly = requests.post(f"{api}/models/reviews/predict", json={"texts": TEXTS}, timeout=10)
    assert friendly.status_code == 200, friendly.text
    assert [p["label"] for p in friendly.json()["predictions"]] == [
        SENTIMENT_LABELS[int(i)] for i in expected["probabilities"].argmax(axis=1)]
    v2 = requests.post(f"{api}/v2/models/reviews/infer", json={"inputs": [
        {"name": "text", "datatype": "BYTES", "shape": [len(TEXTS)], "data": TEXTS}]}, timeout=10)
    assert v2.status_code == 200, v2.text
    outputs = {o["name"]: o["data"] for o in v2.json()["outputs"]}
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"].ravel(), rtol=1e-6)
    assert world["stack"].registry.get_live("reviews").live.model_source == "layer"


def test_a_tokenizer_model_added_on_a_running_stack_takes_the_s3_path_and_answers_as_offline_tokenization(
        world, text_models, capsys):
    import tritonclient.http as triton

    root, api, settings = world["root"], world["api"], world["settings"]
    # WHEN the attention model is added with its tokenizer and both score outputs' labels
    code = lepton(root, "add", "moods", "--model", str(text_models.attention), "--tokenizer",
                  str(text_models.tokenizer), "--labels", f"sentiment={text_models.sentiment_labels}",
                  "--labels", f"source={text_models.source_labels}", "--port", str(settings.api_port),
                  "--aws-port", str(settings.aws_port))
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0, out
    assert "moods v1: promoted" in out and "tokenizer tokenizer.json" in out and "memory 512 MB" in out
    # THEN it is over the layer budget: the version reads model and tokenizer from S3, and says why
    live = world["stack"].registry.get_live("moods").live
    assert live.model_source == "s3"
    attempt = world["stack"].registry.list_deployments("moods", limit=1)[0]
    assert f"above the {LAYER_BUDGET:,}-byte layer budget" in attempt.reason
    # AND the friendly route answers texts, each score output labelled, as offline tokenization + onnxruntime
    expected = offline(text_models, TEXTS)
    answer = wait_for(f"{api}/models/moods/predict", {"texts": TEXTS})
    assert answer.status_code == 200, answer.text
    for row, entry in enumerate(answer.json()["predictions"]):
        for output, labels in (("sentiment", SENTIMENT_LABELS), ("source", SOURCES)):
            np.testing.assert_allclose(list(entry[output]["probabilities"].values()), expected[output][row],
                                       rtol=1e-5, atol=1e-7)
            assert entry[output]["label"] == labels[int(expected[output][row].argmax())]
    assert answer.json()["truncated"] == [2]
    # AND tritonclient on its defaults (binary tensors) gets the same from the token tensors
    client = triton.InferenceServerClient(url=api.removeprefix("http://"))
    tensors = []
    for name in ("input_ids", "attention_mask"):
        tensor = triton.InferInput(name, list(expected[name].shape), "INT64")
        tensor.set_data_from_numpy(expected[name])
        tensors.append(tensor)
    result = client.infer("moods", tensors)
    for name in ("sentiment", "source"):
        np.testing.assert_allclose(result.as_numpy(name), expected[name], rtol=1e-5, atol=1e-7)


def test_lepton_remove_gives_template_yaml_back_byte_for_byte_and_the_stack_stops_serving(world):
    root = world["root"]
    assert wait_for(f"{world['api']}/models/churn/predict", {"instances": [[1.0, 2.0, 3.0, 4.0]]}).status_code == 200
    assert lepton(root, "remove", "churn") == 0
    assert lepton(root, "remove", "reviews") == 0
    assert lepton(root, "remove", "moods") == 0
    aws_port = str(world["settings"].aws_port)
    assert lepton(root, "remove", "price", "--purge", "--aws-port", aws_port) == 0
    assert (root / "template.yaml").read_bytes() == world["original"]
    assert not (root / "functions" / "churn").exists() and not (root / ".lepton" / "artifacts" / "churn").exists()
    deadline = time.monotonic() + 10
    while requests.post(f"{world['api']}/models/churn/predict", json={"instances": [[1, 2, 3, 4]]},
                        timeout=10).status_code != 404:
        assert time.monotonic() < deadline, "the stack still routes to the removed model"
        time.sleep(0.1)
    assert requests.post(f"{world['api']}/models/tabular/predict", json={"instances": [[13.0, 0.12, 22.0]]},
                         timeout=10).status_code == 200

    # AND the model is retired everywhere a caller looks: the repository index a stock V2 client
    # enumerates, the playground's status and card, the API's description
    api = world["api"]
    deadline = time.monotonic() + 10
    while {"churn", "price"} & {m["name"] for m in requests.post(f"{api}/v2/repository/index", json={},
                                                                 timeout=10).json()}:
        assert time.monotonic() < deadline, "the repository index still lists the removed model"
        time.sleep(0.1)
    status = requests.get(f"{api}/status", timeout=10).json()
    assert not {"churn", "price"} & {m["name"] for m in status["models"]}
    assert not {"churn", "price"} & {a["model"] for a in status["deployments"]}
    assert requests.get(f"{api}/models/churn/card", timeout=10).status_code == 404
    assert "/models/churn/predict" not in requests.get(f"{api}/openapi.json", timeout=10).json()["paths"]
    # AND its versions stay in the bucket unless --purge was given (price's were purged)
    s3 = world["stack"].client("s3")
    listed = s3.list_objects_v2(Bucket=world["settings"].bucket, Prefix="models/")
    keys = {o["Key"] for o in listed.get("Contents", [])}
    assert any(k.startswith("models/churn/") for k in keys) and not any(k.startswith("models/price/") for k in keys)
