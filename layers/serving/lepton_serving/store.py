"""A model version on local disk: fetched from the model bucket into /tmp once per execution
environment, verified against its manifest.

The cache is keyed by the file's sha256, so a warm environment that is asked for the same
version again (or a new environment reusing /tmp) never downloads or trusts stale bytes.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .bucket import ModelBucket
from .errors import LimitExceeded, ModelIntegrityError
from .manifest import MANIFEST_FILE, TOKENIZER_FILE, Manifest
from .pins import ModelPins

# An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
_ONNX_FIRST_BYTE = 0x08

#: Bucket name -> the ModelBucket to read it through (the caller owns the S3 client).
BucketOpener = Callable[[str], ModelBucket]


@dataclass(frozen=True)
class LocalModel:
    """A verified model file on local disk and the manifest it was published with."""

    path: Path
    manifest: Manifest
    source: str = "s3"  # where it came from: "s3" (fetched into the cache) or "layer" (layer_model.py)
    data: bytes | None = field(default=None, repr=False, compare=False)  # the verified bytes, when in hand
    tokenizer: bytes | None = field(default=None, repr=False, compare=False)  # its verified tokenizer.json

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_key_for(model_key: str) -> str:
    return posixpath.join(posixpath.dirname(model_key), MANIFEST_FILE)


class ModelStore:
    def __init__(self, cache_dir: str | os.PathLike[str], open_bucket: BucketOpener):
        self.cache_dir = Path(cache_dir)
        self.open_bucket = open_bucket
        self.downloads = 0  # observable: tests and metrics check the cache is reused

    def fetch(self, ref: ModelPins) -> LocalModel:
        bucket = self.open_bucket(ref.bucket)
        manifest, _ = bucket.pinned_manifest(manifest_key_for(ref.key), ref.manifest_sha256)
        expected = (ref.sha256 or manifest.sha256).lower()
        if manifest.sha256 != expected:
            raise ModelIntegrityError(
                f"configured sha256 {expected[:12]}… does not match the manifest's "
                f"{manifest.sha256[:12]}… for {bucket.uri(ref.key)}"
            )
        path = self.cache_dir / manifest.name / str(manifest.version) / f"{expected}.onnx"
        tokenizer = self._tokenizer(bucket, manifest, path.parent)
        if path.is_file():
            return LocalModel(path, manifest, tokenizer=tokenizer)
        data = bucket.read(ref.key)
        self.downloads += 1
        verify_model_bytes(data, expected, where=bucket.uri(ref.key))
        _write_atomically(path, data)
        return LocalModel(path, manifest, data=data, tokenizer=tokenizer)

    def _tokenizer(self, bucket: ModelBucket, manifest: Manifest, folder: Path) -> bytes | None:
        """The manifest's tokenizer.json, from the cache when its bytes still hash right."""
        pinned, key = manifest.tokenizer, manifest.tokenizer_key
        if pinned is None or key is None:
            return None
        path = folder / f"{pinned.sha256}.json"
        if path.is_file():
            data = path.read_bytes()
            if sha256_hex(data) == pinned.sha256:
                return data
        try:
            data = bucket.read(key, max_bytes=pinned.size)
        except LimitExceeded as exc:  # not the pinned file: the deployer checked its size
            raise ModelIntegrityError(f"{exc.message}: not the {TOKENIZER_FILE} the manifest pins") from exc
        verify_tokenizer_bytes(data, manifest, where=bucket.uri(key))
        _write_atomically(path, data)
        return data


def verify_model_bytes(data: bytes, expected_sha256: str, where: str) -> None:
    """Refuse bytes whose hash differs from the published one, or that are not ONNX at all."""
    actual = sha256_hex(data)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"{where}: sha256 is {actual[:12]}…, expected {expected_sha256[:12]}…; refusing to load"
        )
    if not data or data[0] != _ONNX_FIRST_BYTE:
        raise ModelIntegrityError(f"{where}: not an ONNX model file")


def verify_tokenizer_bytes(data: bytes, manifest: Manifest, where: str) -> None:
    """Refuse a tokenizer.json that is not the one the manifest pins."""
    pinned = manifest.tokenizer
    assert pinned is not None
    actual = sha256_hex(data)
    if actual != pinned.sha256 or len(data) != pinned.size:
        raise ModelIntegrityError(f"{where}: sha256 {actual[:12]}… ({len(data):,} bytes), the manifest pins "
                                  f"{TOKENIZER_FILE} {pinned.sha256[:12]}… ({pinned.size:,} bytes); refusing to load")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
