"""Stock V2 clients, as users run them, against the local stack over HTTP: tritonclient.http on its
defaults (binary tensors both ways) and every mix of binary and JSON, tritonclient.http.aio, and
kserve's own InferenceRESTClient with JSON and with binary inputs. Every answer is compared with
a direct onnxruntime run of the model file the stack serves."""
from __future__ import annotations

import asyncio
import json
import subprocess

import numpy as np
import pytest

from eventfiles import ROOT
from v2_cases import expected_outputs, v2_inputs

MODELS = sorted(v2_inputs())


def triton(stack):
    import tritonclient.http as tc

    return tc.InferenceServerClient(url=stack.base_url.removeprefix("http://"))


def triton_inputs(module, model: str, binary: bool | None) -> list:
    """InferInputs of `model`; binary None: the client's default (binary)."""
    inputs = []
    for name, (array, datatype) in v2_inputs()[model].items():
        tensor = module.InferInput(name, list(array.shape), datatype)
        if binary is None:
            tensor.set_data_from_numpy(array)
        else:
            tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs


def check(result, model: str, stack) -> None:
    expected = expected_outputs(model, stack.models[model])
    assert result.get_response()["model_name"] == model
    for name, want in expected.items():
        got = result.as_numpy(name)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_tritonclient_on_its_defaults_sends_and_receives_binary_tensors(stack, model):
    import tritonclient.http as tc

    client = triton(stack)
    # WHEN a user calls infer() the way the client's documentation shows: no options at all
    result = client.infer(model, triton_inputs(tc, model, binary=None))
    # THEN the answer came back as binary tensors (the client asked for binary_data_output)
    outputs = result.get_response()["outputs"]
    assert all("binary_data_size" in o["parameters"] for o in outputs)
    check(result, model, stack)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("binary_in, binary_out", [(True, False), (False, True), (False, False)])
def test_tritonclient_mixes_binary_and_json_tensors_either_way(stack, model, binary_in, binary_out):
    import tritonclient.http as tc

    expected = expected_outputs(model, stack.models[model])
    outputs = [tc.InferRequestedOutput(name, binary_data=binary_out) for name in expected]
    result = triton(stack).infer(model, triton_inputs(tc, model, binary=binary_in), outputs=outputs)
    for output in result.get_response()["outputs"]:
        assert ("binary_data_size" in (output.get("parameters") or {})) is binary_out
    check(result, model, stack)


@pytest.mark.parametrize("model", MODELS)
def test_tritonclient_aio_on_its_defaults(stack, model):
    import tritonclient.http.aio as aio

    async def infer():
        client = aio.InferenceServerClient(url=stack.base_url.removeprefix("http://"))
        try:
            assert await client.is_model_ready(model)
            return await client.infer(model, triton_inputs(aio, model, binary=None))
        finally:
            await client.close()

    check(asyncio.run(infer()), model, stack)


def test_server_metadata_declares_the_extensions_the_functions_implement(stack):
    metadata = triton(stack).get_server_metadata()
    assert metadata["name"] == "lepton"
    assert metadata["extensions"] == ["binary_tensor_data", "classification"]


def test_repository_index_lists_every_model_with_its_live_version(stack):
    index = triton(stack).get_model_repository_index()
    assert {m["name"]: m["state"] for m in index} == {m: "READY" for m in stack.live_at_start}
    versions = {m["name"]: m["version"] for m in index}
    assert versions == stack.live_at_start


def test_classification_asks_for_the_top_two_labelled_classes(stack):
    import tritonclient.http as tc

    inputs = triton_inputs(tc, "tabular", binary=None)
    result = triton(stack).infer("tabular", inputs, outputs=[
        tc.InferRequestedOutput("probabilities", class_count=2, binary_data=False)])
    scores = expected_outputs("tabular", stack.models["tabular"])["probabilities"]
    labels = ["malignant", "benign"]
    got = result.as_numpy("probabilities")
    assert got.shape == (2, 2)
    for row, classes in zip(scores, got):
        best = int(np.argmax(row))
        top = classes[0].decode() if isinstance(classes[0], bytes) else classes[0]
        value, index, label = top.split(":")
        assert (int(index), label) == (best, labels[best])
        assert float(value) == pytest.approx(float(row[best]), rel=1e-6)


@pytest.fixture(scope="module")
def kserve_python() -> str:
    """kserve's client lives in its own venv (its protobuf pin conflicts with TensorFlow's)."""
    from bench.venvs import ensure

    return str(ensure("kserve"))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_kserve_rest_client_gets_onnxruntime_results(stack, kserve_python, model, binary):
    inputs = [{"name": name, "datatype": datatype, "shape": list(array.shape), "numpy": array.dtype.name,
               "data": array.ravel().tolist()} for name, (array, datatype) in v2_inputs()[model].items()]
    spec = {"url": stack.base_url, "model": model, "inputs": inputs, "binary": binary}
    done = subprocess.run([kserve_python, str(ROOT / "tests" / "clients" / "kserve_v2.py"), json.dumps(spec)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["model_ready"] is True
    for name, want in expected_outputs(model, stack.models[model]).items():
        got = answer["outputs"][name]
        assert got["shape"] == list(want.shape)
        np.testing.assert_allclose(np.array(got["data"], dtype=want.dtype).reshape(want.shape), want,
                                   rtol=1e-5, atol=1e-6)
