"""Publish an artifact directory to the model bucket as the next version.

Layout (lepton_serving.manifest): ``models/<name>/<version>/model.onnx`` (and the files the
manifest pins: a ``tokenizer.json``, the ``reference.json`` profile) then
``models/<name>/<version>/manifest.json``. The manifest goes LAST: its arrival tells the deployer
the version is complete. Every write is conditional (If-None-Match: *), so two publishers racing
for the same version cannot overwrite each other; the loser moves on to the next number.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from lepton_serving.bucket import ModelBucket
from lepton_serving.manifest import MANIFEST_FILE, Manifest, version_prefix

from .manifest_writer import file_digest

log = logging.getLogger("lepton_training")
MAX_ATTEMPTS = 5


class PublishError(RuntimeError):
    """The artifact is inconsistent or the version cannot be written."""


def make_s3_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url) if endpoint_url else boto3.client("s3")


def next_version(bucket: ModelBucket, name: str, requested: int | None = None) -> int:
    highest = max(bucket.version_numbers(name), default=0)
    if requested is None:
        return highest + 1
    if int(requested) <= highest:
        raise PublishError(f"version {requested} of '{name}' is not above the highest existing version {highest}")
    return int(requested)


def load_artifact(artifact_dir: Path) -> tuple[Manifest, Path]:
    """The manifest and model file of a training run, checked against each other."""
    artifact_dir = Path(artifact_dir)
    manifest = Manifest.from_json((artifact_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    model_path = artifact_dir / manifest.model_file
    if not model_path.is_file():
        raise PublishError(f"{artifact_dir} has a manifest but no {manifest.model_file}")
    sha256, size = file_digest(model_path)
    if (sha256, size) != (manifest.sha256, manifest.size):
        raise PublishError(
            f"{model_path} does not match its manifest (sha256 {sha256[:12]}.. size {size} vs "
            f"{manifest.sha256[:12]}.. size {manifest.size})"
        )
    for file, pinned in manifest.pinned_files():
        path = artifact_dir / file
        if not path.is_file() or file_digest(path) != (pinned.sha256, pinned.size):
            raise PublishError(f"{artifact_dir} has no {file} matching the one its manifest pins")
    return manifest, model_path


def publish(
    artifact_dir: Path,
    bucket: str,
    s3_client: Any = None,
    endpoint_url: str | None = None,
    version: int | None = None,
) -> Manifest:
    """Upload model.onnx (and the tokenizer.json it pins) then manifest.json as the next version of
    the model; return its Manifest.

    ``version`` forces a number, which must be above every existing version.
    """
    manifest, model_path = load_artifact(Path(artifact_dir))
    target = ModelBucket(s3_client if s3_client is not None else make_s3_client(endpoint_url), bucket)
    body = model_path.read_bytes()
    for _ in range(MAX_ATTEMPTS):
        number = next_version(target, manifest.name, version)
        published = dataclasses.replace(manifest, version=number)
        meta = {"sha256": published.sha256, "version": str(number)}
        if not target.put_new(published.model_key, body, "application/octet-stream", meta):
            if version is not None:
                raise PublishError(f"{published.model_key} already exists")
            log.info("%s: version %d was taken concurrently; retrying", manifest.name, number)
            continue
        for file, _ in published.pinned_files():
            key = version_prefix(published.name, number) + file
            if not target.put_new(key, (Path(artifact_dir) / file).read_bytes(), "application/json", meta):
                raise PublishError(f"{key} appeared while publishing")
        manifest_body = (published.to_json() + "\n").encode("utf-8")
        if not target.put_new(published.manifest_key, manifest_body, "application/json", meta):
            raise PublishError(f"{published.manifest_key} appeared while publishing")
        log.info("published s3://%s/%s (%d bytes) and its manifest", bucket, published.model_key, published.size)
        return published
    raise PublishError(f"could not claim a version of '{manifest.name}' after {MAX_ATTEMPTS} attempts")


