"""A model version that travels with its function version, in a Lambda layer.

The deployer publishes each promoted version's ``model.onnx`` and ``manifest.json`` as a layer
(``lepton-model/`` in the zip) and puts it on the function in the same configuration update
that pins the version (LEPTON_MODEL_SHA256, LEPTON_MANIFEST_SHA256). Lambda extracts layers
into /opt, so a cold start finds both files in LEPTON_MODEL_DIR (default /opt/lepton-model)
and reads them from disk: no S3 call, no boto3, no dependency on S3 being up.

What is found there is checked exactly as a download is: the manifest's bytes against the
pinned manifest sha256, the model's bytes against the manifest's sha256 (and the pinned one).
A tokenizer.json the manifest pins is read and checked the same way.
A layer that is mounted but does not match is refused (ModelIntegrityError), never replaced
by the bucket's copy: layer and pins are set together, so a mismatch means one of them was
changed by someone else, and that must be seen, not served around.
"""
from __future__ import annotations

from pathlib import Path

from .bucket import pinned_manifest_bytes
from .errors import ModelIntegrityError
from .manifest import MANIFEST_FILE, MODEL_FILE
from .pins import ModelPins
from .store import LocalModel, verify_model_bytes, verify_tokenizer_bytes

#: The folder a model layer's zip holds, so Lambda mounts it at /opt/lepton-model.
LAYER_FOLDER = "lepton-model"


def read_layer_model(directory: str, ref: ModelPins) -> LocalModel | None:
    """The pinned version from a mounted model layer, verified; None when no layer is mounted
    there (or the function pins no manifest to check one against): the bucket serves it then."""
    if not directory or not (ref.sha256 and ref.manifest_sha256):
        return None
    folder = Path(directory)
    manifest_path, model_path = folder / MANIFEST_FILE, folder / MODEL_FILE
    has_manifest, has_model = manifest_path.is_file(), model_path.is_file()
    if not (has_manifest or has_model):
        return None
    if not (has_manifest and has_model):
        missing = MODEL_FILE if has_manifest else MANIFEST_FILE
        raise ModelIntegrityError(f"the model layer at {folder} has no {missing}; refusing to load it")
    manifest, _ = pinned_manifest_bytes(manifest_path.read_bytes(), ref.manifest_sha256, str(manifest_path))
    expected = ref.sha256.lower()
    if manifest.sha256 != expected:
        raise ModelIntegrityError(f"the manifest in the model layer at {folder} describes sha256 "
                                  f"{manifest.sha256[:12]}…, the function pins {expected[:12]}…")
    if ref.version and str(manifest.version) != ref.version:
        raise ModelIntegrityError(f"the model layer at {folder} holds version {manifest.version}, "
                                  f"the function pins version {ref.version}")
    data = model_path.read_bytes()
    verify_model_bytes(data, expected, where=str(model_path))
    tokenizer = None
    if manifest.tokenizer is not None:
        tokenizer_path = folder / manifest.tokenizer.file
        if not tokenizer_path.is_file():
            raise ModelIntegrityError(f"the model layer at {folder} has no {manifest.tokenizer.file}, which its "
                                      "manifest pins; refusing to load it")
        tokenizer = tokenizer_path.read_bytes()
        verify_tokenizer_bytes(tokenizer, manifest, where=str(tokenizer_path))
    return LocalModel(model_path, manifest, source="layer", data=data, tokenizer=tokenizer)
