"""The manifest is parsed strictly: every field with its JSON type, finite numbers, one model file
name, a size cap. A wrong manifest is a ManifestError naming the field, never a crash later."""
from __future__ import annotations

import json

import pytest

from lepton_serving.bucket import ModelBucket
from lepton_serving.errors import ModelIntegrityError
from lepton_serving.manifest import MAX_MANIFEST_BYTES, Manifest, ManifestError
from onnx_models import manifest_for, mlp_model


def valid() -> dict:
    return json.loads(manifest_for(mlp_model(1).SerializeToString(), metrics={"accuracy": 0.9}).to_json())


@pytest.mark.parametrize("field, value, words", [
    ("version", 3.9, "'version' must be a whole number"),
    ("version", True, "'version' must be a whole number"),
    ("version", "3", "'version' must be a whole number"),
    ("size", -1, "size must be 0 or more"),
    ("metrics", [], "'metrics' must be an object"),
    ("golden_tolerance", "tight", "'golden_tolerance' must be a number"),
    ("golden_tolerance", 0, "golden_tolerance must be a number in (0, 1]"),
    ("labels", ["malignant", 1], "labels must be a list of strings"),
    ("model_file", "../other/model.onnx", "model_file must be 'model.onnx'"),
    ("quantized", "no", "'quantized' must be true or false"),
    ("inputs", [{"name": "features", "datatype": "FP32", "shape": [-1, 3.0]}], "shape of whole numbers"),
    ("inputs", [{"name": ["features"], "datatype": "FP32", "shape": [-1, 3]}], "needs a name"),
    ("golden", [{"inputs": [], "outputs": {}}], "golden example 0 needs 'inputs' and 'outputs' objects"),
])
def test_a_field_of_the_wrong_type_is_refused_by_name(field, value, words):
    data = valid()
    data[field] = value
    with pytest.raises(ManifestError) as raised:
        Manifest.from_dict(data)
    assert words in str(raised.value)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_metrics_must_be_finite(literal):
    text = json.dumps(valid()).replace('"accuracy": 0.9', f'"accuracy": {literal}')
    with pytest.raises(ManifestError, match="metrics must be finite numbers; accuracy="):
        Manifest.from_json(text)


def test_a_manifest_over_the_size_cap_is_refused_unread(s3, bucket):
    s3.put_object(Bucket=bucket, Key="models/tabular/1/manifest.json", Body=b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(ModelIntegrityError, match="the most a manifest may be"):
        ModelBucket(s3, bucket).manifest("models/tabular/1/manifest.json")


def test_a_manifest_changed_after_validation_is_refused_by_its_pinned_digest(publish, s3, bucket):
    published = publish(seed=1)
    key = published.manifest.manifest_key
    _, digest = ModelBucket(s3, bucket).pinned_manifest(key)
    # someone rewrites the manifest (same model, other metrics) after the deployer checked it
    changed = published.manifest
    changed.metrics = {"accuracy": 0.99}
    s3.put_object(Bucket=bucket, Key=key, Body=changed.to_json().encode())
    with pytest.raises(ModelIntegrityError, match="changed after the deployer checked it"):
        ModelBucket(s3, bucket).pinned_manifest(key, digest)
