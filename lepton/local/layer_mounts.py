"""A function version's layers, mounted the way Lambda mounts them.

Lambda extracts each layer's zip into /opt before the function's code runs; the deployer's
model layer lands at /opt/lepton-model. Here each layer version's zip is extracted once, under
the stack's state dir (``<state>/layers/<name>/<version>/``), and a version whose layers hold a
model gets that folder as LEPTON_MODEL_DIR, so the local stack serves it from disk as Lambda
does, and a version without one (a model over the layer budget) fetches it from S3.

Where the zip comes from: GetLayerVersion's Content.Location, when that is a URL (real Lambda's
presigned link). moto 5.2.5 answers ``s3://`` there and offers no other way to read a layer's
bytes back, so a model layer's zip is rebuilt from the objects the version pins (the deployer's
own `layer_zip` over the model bucket's bytes) and used only when its sha256 is the CodeSha256
that Lambda (moto) reports for that layer version: the same bytes, or no mount.
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import shutil
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lepton_deploy.functions import FunctionConfig, LambdaFunctions, LayerVersion
from lepton_deploy.model_layer import ModelFiles, layer_zip
from lepton_serving.bucket import ModelBucket
from lepton_serving.errors import LeptonError
from lepton_serving.layer_model import LAYER_FOLDER
from lepton_serving.manifest import MANIFEST_FILE
from lepton_serving.store import manifest_key_for

log = logging.getLogger("lepton.local.layer_mounts")

MODEL_DIR_ENV = "LEPTON_MODEL_DIR"
_MARKER = ".code-sha256"  # written last: a folder without it was never fully extracted


def code_sha256(data: bytes) -> str:
    """A zip's hash as Lambda reports it (CodeSha256: base64 of the sha256 digest)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class LayerMounts:
    def __init__(self, functions: LambdaFunctions, s3: Any, root: Path,
                 download: Callable[[str], bytes] | None = None):
        """``s3``: the client the model bucket is read through; ``root``: where layers are
        extracted; ``download``: URL -> bytes (default: urllib)."""
        self.functions = functions
        self.s3 = s3
        self.root = Path(root)
        self.download = download or _download
        self._lock = threading.Lock()

    def environment(self, function_name: str, version: str) -> dict[str, str]:
        """What the version's layers add to its environment: where its model layer is mounted
        ("" when it has none, so the function reads the model from S3)."""
        config = self.functions.config(function_name, version)
        model_dir = ""
        for arn in config.layers:
            folder = self.mount(arn, config)
            if folder is not None and (folder / LAYER_FOLDER / MANIFEST_FILE).is_file():
                model_dir = str(folder / LAYER_FOLDER)
        return {MODEL_DIR_ENV: model_dir}

    def mount(self, arn: str, config: FunctionConfig) -> Path | None:
        """The layer version's extracted folder (extracted now if it is not yet); None if its
        bytes cannot be had here."""
        layer = self.functions.layer_version(arn)
        folder = self.root / layer.name / str(layer.version)
        with self._lock:
            if _mounted(folder, layer.code_sha256):
                return folder
            data = self._zip(layer, config)
            if data is None:
                log.warning("%s:%s cannot be mounted here (its zip is neither downloadable nor the "
                            "model its function version pins); that version reads its model from S3",
                            layer.name, layer.version)
                return None
            _extract(data, folder, layer.code_sha256)
        return folder

    def _zip(self, layer: LayerVersion, config: FunctionConfig) -> bytes | None:
        for fetch in (self._downloaded, self._rebuilt):
            data = fetch(layer, config)
            if data is not None and code_sha256(data) == layer.code_sha256:
                return data
        return None

    def _downloaded(self, layer: LayerVersion, config: FunctionConfig) -> bytes | None:
        if not layer.location.startswith(("https://", "http://")):
            return None
        try:
            return self.download(layer.location)
        except OSError as exc:
            log.warning("cannot download %s:%s: %s", layer.name, layer.version, exc)
            return None

    def _rebuilt(self, layer: LayerVersion, config: FunctionConfig) -> bytes | None:
        pins = config.pins
        if not (pins.pinned and pins.manifest_sha256):
            return None
        store = ModelBucket(self.s3, pins.bucket)
        try:
            document = store.manifest_document(manifest_key_for(pins.key), pins.manifest_sha256)
            tokenizer_key = document.manifest.tokenizer_key
            tokenizer = store.read(tokenizer_key) if tokenizer_key else None
            return layer_zip(ModelFiles(store.read(pins.key), document.data, tokenizer))
        except LeptonError as exc:
            log.warning("cannot rebuild %s:%s from %s: %s", layer.name, layer.version, store.uri(pins.key), exc.message)
            return None


def _mounted(folder: Path, sha256: str) -> bool:
    marker = folder / _MARKER
    return marker.is_file() and marker.read_text() == sha256


def _extract(data: bytes, folder: Path, sha256: str) -> None:
    """Extract into a fresh sibling, then rename: a reader never sees half a layer."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(staging)  # members with absolute paths or ".." are kept inside staging
    (staging / _MARKER).write_text(sha256)
    if folder.exists():  # an earlier, different layer with the same name and number (moto restarted)
        shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not _mounted(folder, sha256):  # not another process extracting the same layer first
            raise


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - Lambda's presigned https URL
        return response.read()
