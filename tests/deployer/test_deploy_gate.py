"""Every gate check refuses a bad version with its own reason; the live model keeps answering."""
from __future__ import annotations

import hashlib
import json

import deploy_support as models
import numpy as np
import pytest
from deploy_support import context, good
from deployer.handler import lambda_handler as deployer
from eventfiles import load_event


def s3_event(stack, version: int) -> dict:
    event = load_event("deployer/s3-put.json")
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = models.BUCKET
    record["object"]["key"] = f"models/tabular/{version}/manifest.json"
    return event


def bad_sha256(version):
    data, manifest = good(version)
    manifest.sha256 = "0" * 64
    return data, manifest


def golden_mismatch(version):
    data, manifest = good(version)
    manifest.golden[0].outputs["probabilities"][0][0] += 0.01
    return data, manifest


def low_accuracy(version):
    return good(version, metrics={"accuracy": 0.55})


def no_golden(version):
    data, manifest = good(version)
    manifest.golden = []
    return data, manifest


def inconsistent_manifest(version):
    """The manifest keeps the live signature, the graph's input is really called 'x'."""
    data, _ = models.with_renamed_input(version)
    _, manifest = good(version)
    return data, models.rehash(manifest, data)


CASES = {
    "corrupt file": (models.corrupt, "onnx_parse", "does not parse as an ONNX protobuf"),
    "wrong sha256": (bad_sha256, "sha256", "the manifest says 000000000000"),
    "wrong signature": (models.with_renamed_input, "signature", "input 'features' is missing"),
    "golden mismatch": (golden_mismatch, "golden", "above the manifest's tolerance"),
    "metrics below minimum": (low_accuracy, "metrics", "accuracy 0.55 is below the minimum 0.8"),
    "external data": (models.with_external_data, "external_data", "weights.bin"),
    "operator onnxruntime lacks": (models.with_custom_domain, "load", "does not implement operator"),
    "checker failure": (models.failing_checker, "onnx_checker", "ONNX checker refuses"),
    "no golden examples": (no_golden, "golden", "no golden examples"),
    "manifest does not describe its graph": (inconsistent_manifest, "graph_signature", "unexpected input 'x'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_version_is_rejected_with_its_reason_and_the_live_model_keeps_answering(stack, case):
    # GIVEN version 1 is live and answering
    stack.upload(*good(1))
    assert deployer(s3_event(stack, 1), context())["results"][0]["outcome"] == "promoted"
    alias_before, live_env = stack.alias()["FunctionVersion"], stack.live_env()
    status, before = stack.infer(live_env)
    assert status == 200

    # WHEN a broken version 2 is uploaded
    build, check, words = CASES[case]
    stack.upload(*build(2))
    result = deployer(s3_event(stack, 2), context())["results"][0]

    # THEN it is rejected by the check that names the fault, with a readable reason
    assert result["outcome"] == "rejected"
    attempt = stack.registry.list_deployments("tabular")[0]
    assert (attempt.version, attempt.outcome, attempt.check) == (2, "rejected", check)
    assert words in attempt.reason, attempt.reason
    # AND nothing moved: alias, published versions, live pointer
    assert stack.alias()["FunctionVersion"] == alias_before
    assert stack.versions() == ["$LATEST", "1", "2"]
    assert stack.registry.get_live("tabular").live.version == 1
    # AND version 1 still answers, identically
    status, after = stack.infer(stack.live_env())
    assert status == 200 and after["model_version"] == "1"
    assert np.array_equal(before["outputs"][0]["data"], after["outputs"][0]["data"])


def test_the_first_version_is_checked_against_the_functions_expected_signature(stack):
    # GIVEN the function declares the signature it expects and nothing is live yet
    stack.lam.update_function_configuration(FunctionName=models.FUNCTION, Environment={"Variables": {
        **stack.function_env,
        "LEPTON_EXPECTED_SIGNATURE": '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}],'
                                     ' "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}]}'}})
    stack.upload(*good(1))
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected"
    assert "LEPTON_EXPECTED_SIGNATURE" in result["reason"] and "[-1, 4]" in result["reason"]
    assert stack.registry.get_live("tabular") is None


def test_a_manifest_that_names_another_version_than_its_key_is_rejected(stack):
    data, manifest = good(2)
    stack.s3.put_object(Bucket=models.BUCKET, Key="models/tabular/2/model.onnx", Body=data)
    stack.s3.put_object(Bucket=models.BUCKET, Key="models/tabular/3/manifest.json", Body=manifest.to_json().encode())
    result = deployer(s3_event(stack, 3), context())["results"][0]
    assert result["outcome"] == "rejected" and "describes tabular v2" in result["reason"]
    assert "uploaded as models/tabular/3/manifest.json" in result["reason"]


def test_a_manifest_without_its_model_file_is_rejected(stack):
    _, manifest = good(1)
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected" and "does not exist" in result["reason"]


def test_a_model_over_the_load_time_budget_is_rejected(stack, monkeypatch):
    monkeypatch.setenv("LEPTON_MAX_LOAD_MS", "0.0001")
    stack.upload(*good(1))
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected" and "LEPTON_MAX_LOAD_MS" in result["reason"]


def test_a_model_over_the_size_budget_is_rejected_before_download(stack, monkeypatch):
    monkeypatch.setenv("LEPTON_MAX_MODEL_BYTES", "100")
    stack.upload(*good(1))
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected" and "the budget is 100 bytes" in result["reason"]
    assert "download" not in stack.registry.list_deployments("tabular")[0].timings_ms


def test_an_unknown_model_is_rejected_with_the_models_this_deployer_knows(stack):
    event = s3_event(stack, 1)
    event["Records"][0]["s3"]["object"]["key"] = "models/digits/1/manifest.json"
    result = deployer(event, context())["results"][0]
    assert result["outcome"] == "rejected" and "knows tabular" in result["reason"]


@pytest.mark.parametrize("field, value, words", [
    ("metrics", [], "'metrics' must be an object"),
    ("golden_tolerance", "tight", "'golden_tolerance' must be a number"),
    ("version", 1.5, "'version' must be a whole number"),
])
def test_a_wrongly_typed_manifest_is_rejected_and_recorded_not_crashed_on(stack, field, value, words):
    data, manifest = good(1)
    document = json.loads(manifest.to_json())
    document[field] = value
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.model_key, Body=data)
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.manifest_key, Body=json.dumps(document).encode())
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected" and words in result["reason"]
    attempt = stack.registry.list_deployments("tabular")[0]
    assert (attempt.outcome, attempt.check) == ("rejected", "manifest")


def test_an_accuracy_of_nan_does_not_pass_the_minimum(stack):
    data, manifest = good(1)
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.model_key, Body=data)
    text = manifest.to_json().replace('"accuracy": 0.9', '"accuracy": NaN')
    assert "NaN" in text
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.manifest_key, Body=text.encode())
    result = deployer(s3_event(stack, 1), context())["results"][0]
    assert result["outcome"] == "rejected" and "metrics must be finite numbers; accuracy=nan" in result["reason"]


def test_the_promoted_version_pins_the_manifest_the_deployer_validated(stack):
    data, manifest = good(1)
    stack.upload(data, manifest)
    assert deployer(s3_event(stack, 1), context())["results"][0]["outcome"] == "promoted"
    stored = stack.s3.get_object(Bucket=models.BUCKET, Key=manifest.manifest_key)["Body"].read()
    assert stack.live_env()["LEPTON_MANIFEST_SHA256"] == hashlib.sha256(stored).hexdigest()
    assert stack.registry.get_live("tabular").live.manifest_sha256 == hashlib.sha256(stored).hexdigest()
    # AND a manifest rewritten afterwards is not what the function serves: it refuses to load it
    manifest.metrics = {"accuracy": 0.99}
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    status, body = stack.infer(stack.live_env())
    assert status == 503 and "changed after the deployer checked it" in body["error"]


def test_the_gate_itself_skips_an_older_upload_before_reading_its_model(stack):
    # GIVEN version 3 live, and a version 2 uploaded later whose model file is not even ONNX
    stack.upload(*good(3))
    assert deployer(s3_event(stack, 3), context())["results"][0]["outcome"] == "promoted"
    _, manifest = good(2)
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.model_key, Body=b"not a model")
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    # WHEN it is judged
    result = deployer(s3_event(stack, 2), context())["results"][0]
    # THEN the gate skips it as not newer, without downloading or judging the model (the
    # rollout's own check, tests/deployer/test_deploy_rollout.py, is the second line)
    assert result["outcome"] == "skipped", result
    assert "an upload never moves a model backwards" in result["reason"]
    attempt = stack.registry.list_deployments("tabular")[0]
    assert "download" not in attempt.timings_ms and "promote" not in attempt.timings_ms


def with_reference(version: int, rows: int = 300, **changes) -> tuple[bytes, object, bytes]:
    """A good version whose manifest pins a reference profile of its own features."""
    from lepton_drift.features import extractor_for
    from lepton_drift.profile import build_profile, sha256_of
    from lepton_serving.manifest import ReferenceFile

    data, manifest = good(version)
    extractor = extractor_for(manifest)
    x = np.random.default_rng(version).normal(size=(rows, 3)).astype(np.float32)
    scores = np.stack([x[:, 0] > 0, x[:, 0] <= 0], axis=1).astype(np.float32)
    profile = build_profile(extractor, extractor.columns({"features": x}, {"probabilities": scores}),
                            model=changes.pop("model", "tabular"), source="training")
    body = profile.to_bytes()
    manifest.reference = ReferenceFile(sha256_of(body), len(body), profile.rows)
    return data, manifest, body


def upload_with_reference(stack, data, manifest, body) -> dict:
    stack.s3.put_object(Bucket=models.BUCKET, Key=manifest.reference_key, Body=body)
    stack.upload(data, manifest)
    return deployer(s3_event(stack, manifest.version), context())["results"][0]


def test_a_version_with_its_pinned_reference_profile_is_promoted(stack):
    result = upload_with_reference(stack, *with_reference(1))
    assert result["outcome"] == "promoted", result
    assert "reference" in stack.registry.list_deployments("tabular")[0].timings_ms


@pytest.mark.parametrize("fault, words", [
    ("missing", "does not exist; the manifest pins a reference.json: upload it before the manifest"),
    ("changed", "the manifest pins"),
    ("another model's", "the profile of 'digits', not of 'tabular'"),
    ("other features", "does not describe this model's features; missing worst smoothness"),
])
def test_a_version_whose_reference_profile_is_not_the_pinned_one_is_rejected(stack, fault, words):
    data, manifest, body = with_reference(1, model="digits" if fault == "another model's" else "tabular")
    if fault == "changed":
        body = body.replace(b'"rows":', b'"rows": ')
    if fault == "other features":
        from lepton_drift.profile import sha256_of

        body = body.replace(b'"worst smoothness"', b'"smoothness"')
        manifest.reference = type(manifest.reference)(sha256_of(body), len(body), manifest.reference.rows)
    if fault == "missing":
        stack.upload(data, manifest)
        result = deployer(s3_event(stack, 1), context())["results"][0]
    else:
        result = upload_with_reference(stack, data, manifest, body)
    assert result["outcome"] == "rejected"
    attempt = stack.registry.list_deployments("tabular")[0]
    assert attempt.check == "reference" and words in attempt.reason, attempt.reason
