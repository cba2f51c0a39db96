"""publish.py against moto S3: layout, manifest last, monotonic versions, integrity checks."""
from __future__ import annotations

import hashlib
import json

import pytest
from lepton_serving.manifest import Manifest, manifest_key, model_key

from lepton_serving.bucket import ModelBucket
from lepton_training.publish import PublishError, publish

BUCKET = "lepton-models-test"  # created by the s3 fixture (conftest.BUCKET)


def record_puts(client) -> list[str]:
    """Keys of PutObject calls, in the order they were sent (botocore event hook)."""
    keys: list[str] = []
    client.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: keys.append(params["Key"]))
    return keys


def test_publish_writes_layout_with_manifest_last_and_increments_versions(s3, quick_artifacts) -> None:
    artifact = quick_artifacts("tabular")
    puts = record_puts(s3)
    first = publish(artifact, BUCKET, s3_client=s3)
    second = publish(artifact, BUCKET, s3_client=s3)
    assert (first.version, second.version) == (1, 2)
    reference = lambda v: f"models/tabular/{v}/reference.json"  # noqa: E731
    assert puts == [model_key("tabular", 1), reference(1), manifest_key("tabular", 1),
                    model_key("tabular", 2), reference(2), manifest_key("tabular", 2)]
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert listed == sorted(puts)
    body = s3.get_object(Bucket=BUCKET, Key=model_key("tabular", 2))["Body"].read()
    assert body == (artifact / "model.onnx").read_bytes()
    stored = Manifest.from_json(s3.get_object(Bucket=BUCKET, Key=manifest_key("tabular", 2))["Body"].read())
    assert stored.version == 2 and stored.sha256 == hashlib.sha256(body).hexdigest() and stored.size == len(body)
    assert stored == second
    assert s3.get_object(Bucket=BUCKET, Key=reference(2))["Body"].read() == (artifact / "reference.json").read_bytes()
    local = Manifest.from_json((artifact / "manifest.json").read_text())
    assert local.version == 1  # the artifact on disk is untouched
    # S3 agrees on the order too: the manifest is not older than the model.
    head = lambda key: s3.head_object(Bucket=BUCKET, Key=key)["LastModified"]  # noqa: E731
    assert head(manifest_key("tabular", 2)) >= head(model_key("tabular", 2))


def test_next_version_counts_incomplete_versions_and_other_models_separately(s3, quick_artifacts) -> None:
    s3.put_object(Bucket=BUCKET, Key=model_key("tabular", 7), Body=b"partial upload, no manifest")
    s3.put_object(Bucket=BUCKET, Key="models/tabular/notes/readme.txt", Body=b"not a version")
    s3.put_object(Bucket=BUCKET, Key=manifest_key("digits", 40), Body=b"{}")
    assert ModelBucket(s3, BUCKET).version_numbers("tabular") == [7]
    assert publish(quick_artifacts("tabular"), BUCKET, s3_client=s3).version == 8


def test_explicit_version_must_be_higher(s3, quick_artifacts) -> None:
    artifact = quick_artifacts("digits")
    assert publish(artifact, BUCKET, s3_client=s3, version=5).version == 5
    with pytest.raises(PublishError, match="not above"):
        publish(artifact, BUCKET, s3_client=s3, version=5)
    with pytest.raises(PublishError, match="not above"):
        publish(artifact, BUCKET, s3_client=s3, version=3)
    assert publish(artifact, BUCKET, s3_client=s3).version == 6


def test_refuses_a_model_file_that_does_not_match_its_manifest(s3, artifact_copy) -> None:
    artifact = artifact_copy("tabular")
    with open(artifact / "model.onnx", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(PublishError, match="does not match its manifest"):
        publish(artifact, BUCKET, s3_client=s3)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_refuses_a_reference_profile_that_does_not_match_its_manifest(s3, artifact_copy) -> None:
    artifact = artifact_copy("tabular")
    (artifact / "reference.json").write_bytes((artifact / "reference.json").read_bytes().replace(b'"rows"', b'"rows" '))
    with pytest.raises(PublishError, match="no reference.json matching"):
        publish(artifact, BUCKET, s3_client=s3)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_lost_race_moves_to_the_next_version(s3, quick_artifacts, monkeypatch) -> None:
    """Another publisher claims version 1 between our listing and our write."""
    import lepton_training.publish as pub

    real = pub.next_version
    calls = []

    def racing(bucket, name, requested=None):
        number = real(bucket, name, requested)
        if not calls:
            bucket.s3.put_object(Bucket=bucket.name, Key=model_key(name, number), Body=b"the other publisher")
        calls.append(number)
        return number

    monkeypatch.setattr(pub, "next_version", racing)
    published = publish(quick_artifacts("tabular"), BUCKET, s3_client=s3)
    assert calls == [1, 2] and published.version == 2
    assert s3.get_object(Bucket=BUCKET, Key=model_key("tabular", 1))["Body"].read() == b"the other publisher"


def test_endpoint_url_client_is_used(quick_artifacts, aws_env) -> None:
    """Without a client, publish builds one (moto intercepts it like the local stack's endpoint)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        manifest = publish(quick_artifacts("recommender"), BUCKET)
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(keys) == [manifest_key("recommender", 1), model_key("recommender", 1),
                            "models/recommender/1/reference.json"]
    assert json.loads(manifest.to_json())["preprocessing"]["synthetic"] is True
