"""The model store: verified downloads, a cache keyed by hash, and refusals."""
from __future__ import annotations

import hashlib

import onnx
import pytest

from lepton_serving.bucket import ModelBucket
from lepton_serving.pins import ModelPins
from lepton_serving.errors import ModelIntegrityError, ModelNotReady
from lepton_serving.session import create_session
from lepton_serving.store import ModelStore
from onnx_models import mlp_model


def store_in(cache, s3) -> ModelStore:
    return ModelStore(cache, open_bucket=lambda name: ModelBucket(s3, name))


def test_fetch_downloads_once_and_reuses_the_cached_file(publish, bucket, s3, tmp_path):
    published = publish(seed=1)
    store = store_in(tmp_path, s3)
    ref = ModelPins(bucket, published.manifest.model_key, published.manifest.sha256)

    first = store.fetch(ref)
    second = store.fetch(ref)

    assert store.downloads == 1
    assert first.path == second.path
    assert first.read_bytes() == published.model_bytes
    assert first.manifest.version == 1


def test_a_new_environment_reuses_what_an_earlier_one_left_in_tmp(publish, bucket, s3, tmp_path):
    published = publish(seed=1)
    ref = ModelPins(bucket, published.manifest.model_key, published.manifest.sha256)
    store_in(tmp_path, s3).fetch(ref)
    again = store_in(tmp_path, s3)
    again.fetch(ref)
    assert again.downloads == 0


def test_sha256_mismatch_with_the_configuration_is_refused(publish, bucket, s3, tmp_path):
    published = publish(seed=1)
    ref = ModelPins(bucket, published.manifest.model_key, "0" * 64)
    with pytest.raises(ModelIntegrityError, match="does not match the manifest"):
        store_in(tmp_path, s3).fetch(ref)


def test_bytes_that_do_not_hash_to_the_manifest_are_refused_and_not_cached(publish, bucket, s3, tmp_path):
    published = publish(seed=1)
    s3.put_object(Bucket=bucket, Key=published.manifest.model_key, Body=mlp_model(2).SerializeToString())
    store = store_in(tmp_path, s3)
    with pytest.raises(ModelIntegrityError, match="sha256 is"):
        store.fetch(ModelPins(bucket, published.manifest.model_key))
    assert not list(tmp_path.rglob("*.onnx"))


def test_a_file_that_is_not_onnx_is_refused(publish, bucket, s3, tmp_path):
    published = publish(seed=1)
    junk = b"PK\x03\x04 this is a zip, not a model"
    manifest = published.manifest
    manifest.sha256, manifest.size = hashlib.sha256(junk).hexdigest(), len(junk)
    s3.put_object(Bucket=bucket, Key=manifest.model_key, Body=junk)
    s3.put_object(Bucket=bucket, Key=manifest.manifest_key, Body=manifest.to_json().encode())
    with pytest.raises(ModelIntegrityError, match="not an ONNX model"):
        store_in(tmp_path, s3).fetch(ModelPins(bucket, manifest.model_key))


def test_missing_objects_mean_not_ready_with_the_s3_location(bucket, s3, tmp_path):
    with pytest.raises(ModelNotReady, match=f"s3://{bucket}/models/tabular/9/manifest.json"):
        store_in(tmp_path, s3).fetch(ModelPins(bucket, "models/tabular/9/model.onnx"))


def test_a_model_with_external_data_references_cannot_be_loaded(tmp_path):
    model = mlp_model(0)
    onnx.save_model(model, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    data = (tmp_path / "ext.onnx").read_bytes()
    with pytest.raises(ModelIntegrityError, match="external data"):
        create_session(data, threads=1)
