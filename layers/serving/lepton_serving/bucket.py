"""The model bucket: the only reader of manifests and model bytes, the only lister of versions.

Layout (manifest.py): ``models/<name>/<version>/model.onnx`` then ``manifest.json``, the
manifest written last. Everything that touches those objects goes through `ModelBucket`: a
model function's cold start, the deployer, the control API, training's publisher and the CLI.
The S3 client is passed in; nothing here reads the environment.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .clients import error_code, error_message
from .errors import LimitExceeded, ModelIntegrityError, ObjectMissing, StorageUnavailable, UpstreamFailure
from .manifest import MAX_MANIFEST_BYTES, MODELS_PREFIX, Manifest, ManifestError, manifest_key

#: What S3 answers for a key that is not there (GetObject, HeadObject, and moto's variants).
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
#: What S3 answers when a conditional create finds the key already written.
EXISTS_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
# Enough to read a model's manifests in about one S3 round trip each way, not one per version.
_READ_THREADS = 8


@dataclass(frozen=True)
class StoredVersion:
    """One models/<name>/<version>/ folder: its manifest, or why there is none to show."""

    version: int
    manifest: Manifest | None
    problem: str | None = None


@dataclass(frozen=True)
class ManifestDocument:
    """A manifest as stored: parsed, its bytes' sha256, and the bytes."""

    manifest: Manifest
    sha256: str
    data: bytes


def pinned_manifest_bytes(data: bytes, expected_sha256: str, where: str) -> tuple[Manifest, str]:
    """Manifest bytes read from anywhere (the bucket, a mounted layer), parsed, and their sha256,
    which must be ``expected_sha256`` when one is given: ModelIntegrityError otherwise."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ModelIntegrityError(f"{where} is {len(data):,} bytes; the most a manifest may be is "
                                  f"{MAX_MANIFEST_BYTES:,} bytes")
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 and digest != expected_sha256:
        raise ModelIntegrityError(f"{where} has sha256 {digest[:12]}…, not the validated "
                                  f"{expected_sha256[:12]}…: it changed after the deployer checked it")
    try:
        return Manifest.from_json(data), digest
    except ManifestError as exc:
        raise ModelIntegrityError(f"{where}: {exc}") from exc


class ModelBucket:
    def __init__(self, s3: Any, name: str, presigner: Any = None):
        """``presigner``: an S3 client that signs with SigV4 (only `presign_post` needs one)."""
        self.s3 = s3
        self.name = name
        self.presigner = presigner

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"

    # -- reads ---------------------------------------------------------------------------------
    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """One object's bytes. ObjectMissing if absent, StorageUnavailable if S3 fails, and
        LimitExceeded (before the body is read) if it is larger than ``max_bytes``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            obj = self.s3.get_object(Bucket=self.name, Key=key)
            size = int(obj.get("ContentLength", 0))
            if max_bytes is not None and size > max_bytes:
                obj["Body"].close()
                raise LimitExceeded(f"{self.uri(key)} is {size:,} bytes; the budget is {max_bytes:,} bytes")
            return obj["Body"].read()
        except ClientError as exc:
            code = error_code(exc)
            if code in MISSING_CODES:
                raise ObjectMissing(f"{self.uri(key)} does not exist") from exc
            raise StorageUnavailable(f"cannot read {self.uri(key)} ({code or exc})") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"cannot read {self.uri(key)} ({exc})") from exc

    def manifest(self, key: str) -> Manifest:
        """The manifest at ``key``: ModelIntegrityError if it is not a valid one."""
        return self.pinned_manifest(key)[0]

    def pinned_manifest(self, key: str, expected_sha256: str = "") -> tuple[Manifest, str]:
        """The manifest at ``key`` and the sha256 of its bytes, which must be ``expected_sha256``
        when one is given: a function serves the manifest the deployer validated, no other."""
        document = self.manifest_document(key, expected_sha256)
        return document.manifest, document.sha256

    def manifest_document(self, key: str, expected_sha256: str = "") -> ManifestDocument:
        """`pinned_manifest` with the bytes themselves, for whoever republishes them (the model layer)."""
        try:
            data = self.read(key, max_bytes=MAX_MANIFEST_BYTES)
        except LimitExceeded as exc:
            raise ModelIntegrityError(f"{exc.message} (the most a manifest may be)") from exc
        manifest, digest = pinned_manifest_bytes(data, expected_sha256, self.uri(key))
        return ManifestDocument(manifest, digest, data)

    def model_bytes(self, manifest: Manifest, max_bytes: int | None = None) -> bytes:
        return self.read(manifest.model_key, max_bytes)

    # -- listing -------------------------------------------------------------------------------
    def version_numbers(self, model: str) -> list[int]:
        """Integer folders under models/<model>/, complete or not (a number is never reused)."""
        found: list[int] = []
        with _list_errors(f"list {self.uri(MODELS_PREFIX + model + '/')}"):
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.name, Prefix=f"{MODELS_PREFIX}{model}/", Delimiter="/")
            for page in pages:
                for prefix in page.get("CommonPrefixes", []):
                    segment = prefix["Prefix"].rstrip("/").rsplit("/", 1)[-1]
                    if segment.isascii() and segment.isdigit() and int(segment) > 0:
                        found.append(int(segment))
        return sorted(found)

    def versions(self, model: str) -> list[StoredVersion]:
        """Every version with its manifest, newest first."""
        numbers = sorted(self.version_numbers(model), reverse=True)
        if not numbers:
            return []
        with ThreadPoolExecutor(max_workers=min(_READ_THREADS, len(numbers))) as pool:
            return list(pool.map(lambda v: self.stored(model, v), numbers))

    def stored(self, model: str, version: int) -> StoredVersion:
        try:
            data = self.read(manifest_key(model, version))
        except ObjectMissing:
            return StoredVersion(version, None, "no manifest.json yet: the upload is incomplete")
        except StorageUnavailable as exc:
            raise UpstreamFailure(exc.message) from exc
        try:
            return StoredVersion(version, Manifest.from_json(data))
        except ManifestError as exc:
            return StoredVersion(version, None, f"manifest.json is invalid: {exc}")

    # -- writes --------------------------------------------------------------------------------
    def put_new(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> bool:
        """Create ``key``; False if it already exists (If-None-Match: someone else wrote it first)."""
        from botocore.exceptions import ClientError

        try:
            self.s3.put_object(Bucket=self.name, Key=key, Body=body, ContentType=content_type,
                               Metadata=metadata or {}, IfNoneMatch="*")
        except ClientError as exc:
            if error_code(exc) in EXISTS_CODES:
                return False
            raise UpstreamFailure(f"cannot write {self.uri(key)} ({error_message(exc)})") from exc
        return True

    def purge(self, model: str) -> int:
        """Delete every object under models/<model>/, every version of each (the bucket is
        versioned); returns how many were deleted. What `lepton remove --purge` does."""
        prefix = f"{MODELS_PREFIX}{model}/"
        deleted = 0
        with _list_errors(f"purge {self.uri(prefix)}"):
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.name, Prefix=prefix):
                batch = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                         for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
                if batch:
                    self.s3.delete_objects(Bucket=self.name, Delete={"Objects": batch, "Quiet": True})
                    deleted += len(batch)
        return deleted

    def presign_post(self, key: str, seconds: int, max_bytes: int) -> tuple[str, dict[str, str]]:
        """A browser-style POST policy that writes ``key`` only, with a body of 1..``max_bytes``
        bytes (S3 refuses anything else with EntityTooLarge/EntityTooSmall), until ``seconds``
        pass. Returns the URL and the form fields to send before the file. S3's POST takes no
        If-None-Match: a second POST within the time writes a new version of the key (the
        bucket is versioned, so the first is kept)."""
        if self.presigner is None:
            raise TypeError("ModelBucket needs a presigner client to presign uploads")
        with _list_errors(f"presign {self.uri(key)}"):
            grant = self.presigner.generate_presigned_post(
                self.name, key, Conditions=[["content-length-range", 1, max_bytes]], ExpiresIn=seconds)
        return grant["url"], grant["fields"]


@contextmanager
def _list_errors(what: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise UpstreamFailure(f"{what} failed: {error_code(exc) or exc}") from exc
    except BotoCoreError as exc:
        raise UpstreamFailure(f"{what} failed: {exc}") from exc
