"""Models users bring, added with `lepton add` and served by the function it writes: the V2 answer
is onnxruntime's for every datatype, and the friendly route speaks the generic rows.

Each model is published through the normal upload path (lepton_training.publish: model first,
manifest last) into a moto bucket, and the function written to functions/<name>/ runs in-process
with the environment a deployment gives it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import own_models
from lepton.byom.cli import add_model
from lepton_serving.manifest import Manifest
from onnx_models import run


def v2_tensor(name: str, array: np.ndarray, datatype: str) -> dict:
    data = array.ravel().tolist()
    return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}


def assert_outputs_equal(body: dict, expected: dict[str, np.ndarray]) -> None:
    got = {o["name"]: o for o in body["outputs"]}
    assert set(got) == set(expected)
    for name, array in expected.items():
        assert got[name]["shape"] == list(array.shape), name
        if array.dtype.kind in "OSU":
            assert got[name]["data"] == [str(v) for v in array.ravel()], name
        elif array.dtype.kind == "b":
            assert got[name]["data"] == array.ravel().tolist(), name
        else:
            np.testing.assert_allclose(np.asarray(got[name]["data"], np.float64), array.ravel().astype(np.float64),
                                       rtol=1e-6, err_msg=name)


# -------------------------------------------------------------------------------------- scikit-learn
def test_a_sklearn_classifier_answers_v2_as_onnxruntime_and_the_friendly_route_with_labels(serve):
    data, rows = own_models.sklearn_classifier()
    call = serve("churn", data, labels=["malignant", "benign"])
    expected = run(data, {"X": rows})
    status, body = call("POST", "/v2/models/churn/infer", {"inputs": [v2_tensor("X", rows, "FP32")]})
    assert status == 200 and body["model_name"] == "churn" and body["model_version"] == "1"
    assert_outputs_equal(body, expected)
    status, body = call("POST", "/models/churn/predict", {"instances": rows[:2].tolist()})
    assert status == 200
    first = body["predictions"][0]
    best = int(expected["probabilities"][0].argmax())
    assert first["label"] == ["malignant", "benign"][best]
    assert first["score"] == pytest.approx(float(expected["probabilities"][0][best]))
    assert first["probabilities"] == pytest.approx(dict(zip(["malignant", "benign"],
                                                            expected["probabilities"][0].tolist())))


def test_a_sklearn_regressor_answers_its_rows_and_its_metadata_keeps_the_dynamic_batch(serve):
    data, rows = own_models.sklearn_regressor()
    call = serve("price", data)
    status, meta = call("GET", "/v2/models/price")
    assert status == 200
    assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"] == [{"name": "variable", "datatype": "FP32", "shape": [-1, 1]}]
    status, body = call("POST", "/models/price/predict", {"instances": rows.tolist()})
    assert status == 200
    np.testing.assert_allclose(body["predictions"], run(data, {"X": rows})["variable"].tolist(), rtol=1e-6)


# -------------------------------------------------------------------------------------- PyTorch-shaped
def test_a_torch_shaped_graph_round_trips_int64_bool_fp16_fp64_and_string_through_v2(serve):
    data = own_models.torch_shaped()
    call = serve("tagger", data, sample=own_models.TORCH_SAMPLE)
    manifest: Manifest = call.manifest
    assert [s.to_dict() for s in manifest.inputs] == [
        {"name": "input_ids", "datatype": "INT64", "shape": [-1, -1]},
        {"name": "attention_mask", "datatype": "BOOL", "shape": [-1, -1]},
        {"name": "scale", "datatype": "FP16", "shape": [-1, 2]},
        {"name": "bias", "datatype": "FP64", "shape": [-1, 3]},
        {"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert manifest.preprocessing["dimensions"]["input_ids"] == ["batch_size", "sequence"]
    columns = own_models.TORCH_SAMPLE["inputs"]
    feed = {"input_ids": np.array(columns["input_ids"], np.int64),
            "attention_mask": np.array(columns["attention_mask"], bool),
            "scale": np.array(columns["scale"], np.float16),
            "bias": np.array(columns["bias"], np.float64),
            "text": np.array(columns["text"], object)}
    datatypes = {"input_ids": "INT64", "attention_mask": "BOOL", "scale": "FP16", "bias": "FP64", "text": "BYTES"}
    request = {"inputs": [v2_tensor(n, a, datatypes[n]) for n, a in feed.items()]}
    assert request["inputs"][1]["data"] == [True, True, True, True, True, False]  # JSON true/false
    status, body = call("POST", "/v2/models/tagger/infer", request)
    assert status == 200, body
    assert_outputs_equal(body, run(data, feed))
    datatype_of = {o["name"]: o["datatype"] for o in body["outputs"]}
    assert datatype_of == {"masked_ids": "INT64", "has_tokens": "BOOL", "scale_squared": "FP16",
                           "bias_total": "FP64", "echo": "BYTES"}


def test_a_several_input_model_takes_named_columns_or_objects_on_the_friendly_route(serve):
    data = own_models.torch_shaped()
    call = serve("tagger", data, sample=own_models.TORCH_SAMPLE)
    status, by_columns = call("POST", "/models/tagger/predict", own_models.TORCH_SAMPLE)
    assert status == 200, by_columns
    assert by_columns["predictions"][1] == {"masked_ids": [101, 9, 0], "has_tokens": True,
                                            "scale_squared": [2.25, 1.0], "bias_total": pytest.approx(6.0),
                                            "echo": "second"}
    columns = own_models.TORCH_SAMPLE["inputs"]
    rows = [{name: values[i] for name, values in columns.items()} for i in range(2)]
    status, by_rows = call("POST", "/models/tagger/predict", {"instances": rows})
    assert status == 200 and by_rows["predictions"] == by_columns["predictions"]


@pytest.mark.parametrize("body, status, words", [
    ({"instances": [[1, 2, 3]]}, 400, "instance 0 must be an object with one entry per input"),
    ({"inputs": {"input_ids": [[1]]}}, 400, "missing attention_mask, scale, bias, text"),
    ({"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}, 400,
     "goes to /v2/models/<name>/infer"),
])
def test_the_friendly_route_says_what_a_several_input_model_takes(serve, body, status, words):
    call = serve("tagger", own_models.torch_shaped(), sample=own_models.TORCH_SAMPLE)
    code, answer = call("POST", "/models/tagger/predict", body)
    assert code == status and words in answer["error"]


@pytest.mark.parametrize("values, words", [
    ([1, 0, 1, 1, 1, 0], "BOOL data must be true or false"),
    (["true", "true", "true", "true", "true", "false"], "BOOL data must be true or false"),
])
def test_v2_bool_takes_json_true_and_false_only(serve, values, words):
    call = serve("tagger", own_models.torch_shaped(), sample=own_models.TORCH_SAMPLE)
    request = {"inputs": [
        {"name": "input_ids", "shape": [2, 3], "datatype": "INT64", "data": [1, 2, 3, 4, 5, 6]},
        {"name": "attention_mask", "shape": [2, 3], "datatype": "BOOL", "data": values},
        {"name": "scale", "shape": [2, 2], "datatype": "FP16", "data": [1, 2, 3, 4]},
        {"name": "bias", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]},
        {"name": "text", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}]}
    status, body = call("POST", "/v2/models/tagger/infer", request)
    assert status == 400 and words in body["error"]


def test_fp16_beyond_its_range_is_refused_as_not_finite(serve):
    call = serve("tagger", own_models.torch_shaped(), sample=own_models.TORCH_SAMPLE)
    request = {"inputs": [
        {"name": "input_ids", "shape": [1, 1], "datatype": "INT64", "data": [1]},
        {"name": "attention_mask", "shape": [1, 1], "datatype": "BOOL", "data": [True]},
        {"name": "scale", "shape": [1, 2], "datatype": "FP16", "data": [70000.0, 1.0]},
        {"name": "bias", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]},
        {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}
    status, body = call("POST", "/v2/models/tagger/infer", request)
    assert status == 400 and "input 'scale': values must be finite" in body["error"]


# -------------------------------------------------------------------------------------- Keras
def test_a_keras_model_exported_to_onnx_is_added_and_answers_as_onnxruntime(serve, tmp_path):
    from lepton_training.tf_env import import_tensorflow

    import_tensorflow()
    import keras

    inputs = keras.Input(shape=(6,), name="features")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="scores")(hidden))
    model(np.zeros((1, 6), np.float32))
    path = tmp_path / "keras.onnx"
    model.export(str(path), format="onnx", opset_version=17, verbose=False)
    data = path.read_bytes()
    call = serve("keras-net", data, labels=["a", "b", "c"])
    rows = np.random.default_rng(3).standard_normal((3, 6)).astype(np.float32)
    expected = run(data, {"features": rows})
    [(out_name, out_value)] = expected.items()
    status, body = call("POST", "/v2/models/keras-net/infer", {"inputs": [v2_tensor("features", rows, "FP32")]})
    assert status == 200
    assert_outputs_equal(body, expected)
    status, friendly = call("POST", "/models/keras-net/predict", {"instances": rows.tolist()})
    assert [p["label"] for p in friendly["predictions"]] == [["a", "b", "c"][i] for i in out_value.argmax(axis=1)]
    assert Path(call.manifest.preprocessing["source"]).name == "keras-net.onnx" and out_name


def test_add_reads_the_task_from_the_outputs_and_says_so_unless_told(project, tmp_path):
    # GIVEN a classifier (a label and one probability per class) and a regressor (one number per row)
    classifier, _ = own_models.sklearn_classifier()
    regressor, _ = own_models.sklearn_regressor()
    (tmp_path / "c.onnx").write_bytes(classifier)
    (tmp_path / "r.onnx").write_bytes(regressor)
    # WHEN they are added without --task
    churn = add_model(project, "churn", tmp_path / "c.onnx")
    price = add_model(project, "price", tmp_path / "r.onnx")
    # THEN the manifest names the task read from the outputs, and the user is told why
    assert churn["manifest"].task == "classifier" and churn["task"].startswith("classifier, read from the outputs")
    assert price["manifest"].task == "regressor" and "holds numbers" in price["task"]
    written = Manifest.from_json((project / ".lepton" / "artifacts" / "price" / "manifest.json").read_text())
    assert written.task == "regressor"
    # AND --task decides when given (a ranker is never guessed)
    (tmp_path / "k.onnx").write_bytes(regressor)
    ranked = add_model(project, "ranked", tmp_path / "k.onnx", task="ranker")
    assert (ranked["manifest"].task, ranked["task"]) == ("ranker", "ranker (--task)")
