"""The model bucket as the control API sees it: version folders, their manifests, upload URLs."""
from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lepton_serving import clients
from lepton_serving.errors import UpstreamFailure
from lepton_serving.manifest import MODELS_PREFIX, Manifest, ManifestError, manifest_key

# Enough to read a model's manifests in about one S3 round trip each way, not one per version.
_READ_THREADS = 8


@dataclass(frozen=True)
class StoredVersion:
    """One models/<name>/<version>/ folder: its manifest, or why there is none to show."""

    version: int
    manifest: Manifest | None
    problem: str | None = None


class ModelBucket:
    def __init__(self, bucket: str):
        self.bucket = bucket

    def version_numbers(self, model: str) -> list[int]:
        """Integer folders under models/<model>/, complete or not (a number is never reused)."""
        found: list[int] = []
        with _s3_errors(f"list s3://{self.bucket}/{MODELS_PREFIX}{model}/"):
            pages = clients.client("s3").get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{MODELS_PREFIX}{model}/", Delimiter="/")
            for page in pages:
                for prefix in page.get("CommonPrefixes", []):
                    segment = prefix["Prefix"].rstrip("/").rsplit("/", 1)[-1]
                    if segment.isdigit() and int(segment) > 0:
                        found.append(int(segment))
        return sorted(found)

    def versions(self, model: str) -> list[StoredVersion]:
        """Every version with its manifest, newest first."""
        numbers = sorted(self.version_numbers(model), reverse=True)
        if not numbers:
            return []
        with ThreadPoolExecutor(max_workers=min(_READ_THREADS, len(numbers))) as pool:
            return list(pool.map(lambda v: self.read(model, v), numbers))

    def read(self, model: str, version: int) -> StoredVersion:
        from botocore.exceptions import ClientError

        key = manifest_key(model, version)
        try:
            body = clients.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                return StoredVersion(version, None, "no manifest.json yet: the upload is incomplete")
            raise UpstreamFailure(f"cannot read s3://{self.bucket}/{key}: {code or exc}") from exc
        try:
            return StoredVersion(version, Manifest.from_json(body))
        except ManifestError as exc:
            return StoredVersion(version, None, f"manifest.json is invalid: {exc}")

    def presign_put(self, key: str, seconds: int) -> tuple[str, dict[str, str]]:
        """A URL that creates ``key`` and never overwrites it: If-None-Match is signed in."""
        signer = _presigner(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
                            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
        with _s3_errors(f"presign s3://{self.bucket}/{key}"):
            url = signer.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": key, "IfNoneMatch": "*"},
                ExpiresIn=seconds, HttpMethod="PUT")
        return url, {"If-None-Match": "*"}


@lru_cache(maxsize=4)
def _presigner(endpoint: str | None, region: str | None) -> Any:
    """An S3 client that presigns with SigV4. botocore still presigns with SigV2 in us-east-1,
    which S3 does not accept for buckets created after June 2020 and which signs no headers.
    Keyed by endpoint and region (read at creation), so a changed environment gets a new one."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint,
                                          config=Config(signature_version="s3v4"))


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise UpstreamFailure(f"{what} failed: {exc.response.get('Error', {}).get('Code', '') or exc}") from exc
    except BotoCoreError as exc:
        raise UpstreamFailure(f"{what} failed: {exc}") from exc
