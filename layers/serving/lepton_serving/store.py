"""Fetch a model version from S3 into /tmp once per execution environment, verified.

The cache is keyed by the file's sha256, so a warm environment that is asked for the same
version again (or a new environment reusing /tmp) never downloads or trusts stale bytes.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import clients
from .config import ModelRef
from .errors import ModelIntegrityError, ModelNotReady
from .manifest import MANIFEST_FILE, Manifest, ManifestError

# An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
_ONNX_FIRST_BYTE = 0x08


@dataclass(frozen=True)
class LocalModel:
    """A verified model file on local disk and the manifest it was published with."""

    path: Path
    manifest: Manifest

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_key_for(model_key: str) -> str:
    return posixpath.join(posixpath.dirname(model_key), MANIFEST_FILE)


class ModelStore:
    def __init__(self, cache_dir: str | os.PathLike[str] = "/tmp/lepton-models"):
        self.cache_dir = Path(cache_dir)
        self.downloads = 0  # observable: tests and metrics check the cache is reused

    def fetch(self, ref: ModelRef) -> LocalModel:
        manifest = self.read_manifest(ref.bucket, manifest_key_for(ref.key))
        expected = (ref.sha256 or manifest.sha256).lower()
        if manifest.sha256 != expected:
            raise ModelIntegrityError(
                f"configured sha256 {expected[:12]}… does not match the manifest's "
                f"{manifest.sha256[:12]}… for s3://{ref.bucket}/{ref.key}"
            )
        path = self.cache_dir / manifest.name / str(manifest.version) / f"{expected}.onnx"
        if path.is_file():
            return LocalModel(path, manifest)
        data = self._get(ref.bucket, ref.key)
        self.downloads += 1
        verify_model_bytes(data, expected, where=f"s3://{ref.bucket}/{ref.key}")
        _write_atomically(path, data)
        return LocalModel(path, manifest)

    def read_manifest(self, bucket: str, key: str) -> Manifest:
        try:
            return Manifest.from_json(self._get(bucket, key))
        except ManifestError as exc:
            raise ModelIntegrityError(f"s3://{bucket}/{key}: {exc}") from exc

    @staticmethod
    def _get(bucket: str, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ModelNotReady(f"cannot read s3://{bucket}/{key} ({code or exc})") from exc


def verify_model_bytes(data: bytes, expected_sha256: str, where: str) -> None:
    """Refuse bytes whose hash differs from the published one, or that are not ONNX at all."""
    actual = sha256_hex(data)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"{where}: sha256 is {actual[:12]}…, expected {expected_sha256[:12]}…; refusing to load"
        )
    if not data or data[0] != _ONNX_FIRST_BYTE:
        raise ModelIntegrityError(f"{where}: not an ONNX model file")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
