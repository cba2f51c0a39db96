"""The model layer: a validated model version published as a Lambda layer of its function.

A promotion publishes the bytes the gate validated (``model.onnx`` and ``manifest.json``, and the
``tokenizer.json`` the manifest pins, under ``lepton-model/`` so Lambda mounts them at
/opt/lepton-model) as a new version of the model's
own layer, ``<prefix>-<model>``, and the rollout puts it on $LATEST in the same update that pins
the version. The function version published from it carries code, configuration and model
together: a cold start reads the model from disk (lepton_serving.layer_model), and a rollback
stays one alias move.

The choice, recorded with the attempt as ``model_source``: ``layer``, or ``s3`` when the model
does not fit (LEPTON_MODEL_LAYER_MAX_BYTES, Lambda's 50 MB limit on a zip sent in the request,
its 5 layers per function) or the layer cannot be published; the function then fetches the
model from the bucket at cold start, as it always could. The deployer never writes the model
bucket, so a layer is only ever sent in the request, never staged through S3.

Old versions of a model's layer are deleted when no version of its function (published or
$LATEST) uses them any more; a version that serves, served, or can be rolled back to keeps its
layer.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from lepton_serving.layer_model import LAYER_FOLDER
from lepton_serving.manifest import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE

from .errors import RolloutError
from .functions import FunctionConfig, LambdaFunctions, LayerVersion, layer_name

#: The largest zip Lambda accepts in a PublishLayerVersion request (50 MB, base64 in the body).
DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024
#: Lambda's limit on layers per function.
MAX_LAYERS = 5
#: Model + manifest bytes a layer may carry by default (LEPTON_MODEL_LAYER_MAX_BYTES; the
#: measurements behind it are in docs/architecture.md).
DEFAULT_MAX_BYTES = 48 * 1024 * 1024
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same two files always make the same zip


@dataclass(frozen=True)
class ModelFiles:
    """A model version's files, exactly the bytes the gate validated: the model, its manifest and,
    when the manifest pins one, its tokenizer.json."""

    model: bytes = field(repr=False)
    manifest: bytes = field(repr=False)
    tokenizer: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.model) + len(self.manifest) + len(self.tokenizer or b"")

    def named(self) -> list[tuple[str, bytes]]:
        files = [(MODEL_FILE, self.model), (MANIFEST_FILE, self.manifest)]
        return files + ([(TOKENIZER_FILE, self.tokenizer)] if self.tokenizer is not None else [])


def layer_zip(files: ModelFiles) -> bytes:
    """The layer's zip, reproducible byte for byte: ``lepton-model/model.onnx``, ``manifest.json``
    (and ``tokenizer.json``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.named():
            info = zipfile.ZipInfo(f"{LAYER_FOLDER}/{name}", date_time=_EPOCH)
            info.create_system = 3  # Unix, so the file mode below is the one extracted
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=6)
    return buffer.getvalue()


@dataclass(frozen=True)
class Placement:
    """Where a function version's model comes from, and the function's layers that say so."""

    source: str  # "layer" | "s3"
    layers: tuple[str, ...]  # the function's layers after the update, in order
    layer: LayerVersion | None = None  # the model layer version, when source is "layer"
    reason: str = ""  # why the model stays in S3

    def describe(self) -> str:
        if self.layer is not None:  # no resource names: reasons are shown on the public status page
            return f"the model travels with the function version (model layer version {self.layer.version})"
        return f"cold starts read the model from S3: {self.reason}"


@dataclass(frozen=True)
class Collected:
    """What one clean-up of a model's layer versions did."""

    deleted: tuple[str, ...] = ()
    problem: str = ""


class ModelLayers:
    def __init__(self, functions: LambdaFunctions, prefix: str, max_bytes: int = DEFAULT_MAX_BYTES):
        """``prefix``: model layers are named ``<prefix>-<model>`` (the deployer may touch only
        those); ``max_bytes``: model + manifest bytes a layer may carry, 0 = never use a layer."""
        self.functions = functions
        self.prefix = prefix
        self.max_bytes = max_bytes

    def name(self, model: str) -> str:
        return f"{self.prefix}-{model}"

    def place(self, model: str, version: int, sha256: str, files: ModelFiles | None,
              function: FunctionConfig) -> Placement:
        """Publish the model as a new layer version when it fits, and say which layers the
        function gets: its own, in order, minus any earlier model layer, plus the new one."""
        others = tuple(arn for arn in function.layers if layer_name(arn) != self.name(model))
        reason = self._unfit(files, others)
        if reason:
            return Placement("s3", others, reason=reason)
        assert files is not None
        zipped = layer_zip(files)
        if len(zipped) > DIRECT_UPLOAD_BYTES:
            return Placement("s3", others, reason=f"its layer zip is {len(zipped):,} bytes, above the "
                                                  f"{DIRECT_UPLOAD_BYTES:,} bytes Lambda accepts in a request")
        try:
            layer = self.functions.publish_layer(
                self.name(model), zipped, f"{model} v{version} sha256 {sha256[:12]}",
                (function.runtime,) if function.runtime else (), function.architectures)
        except RolloutError as exc:  # no permission, the account's code storage full: S3 still serves it
            why = exc.message.replace(self.name(model), "the model layer")
            return Placement("s3", others, reason=f"publishing its layer failed: {why}")
        return Placement("layer", (*others, layer.arn), layer)

    def collect(self, function_name: str, model: str) -> Collected:
        """Delete the model's layer versions that no version of the function uses any more."""
        name = self.name(model)
        try:
            used = set(self.functions.config(function_name).layers)
            for published in self.functions.versions(function_name):
                used.update(published.layers)
            unused = [lv.arn for lv in self.functions.layer_versions(name) if lv.arn not in used]
        except RolloutError as exc:
            return Collected(problem=f"cannot tell which versions of layer {name} are in use "
                                     f"({exc.message}); none was deleted")
        deleted: list[str] = []
        for arn in unused:
            try:
                self.functions.delete_layer_version(arn)
            except RolloutError as exc:
                return Collected(tuple(deleted), f"cannot delete {arn}: {exc.message}")
            deleted.append(arn)
        return Collected(tuple(deleted))

    def _unfit(self, files: ModelFiles | None, others: tuple[str, ...]) -> str:
        if files is None:
            return "no validated bytes were handed to the rollout"
        if self.max_bytes <= 0:
            return "model layers are off (LEPTON_MODEL_LAYER_MAX_BYTES=0)"
        if files.size > self.max_bytes:
            what = "the model, its manifest and tokenizer" if files.tokenizer is not None else "the model and its manifest"
            return (f"{what} are {files.size:,} bytes, above the {self.max_bytes:,}-byte "
                    "layer budget (LEPTON_MODEL_LAYER_MAX_BYTES)")
        if len(others) >= MAX_LAYERS:
            return f"the function already has {len(others)} layers, Lambda's most"
        return ""
