"""The model manifest and the S3 layout: the one contract between training, deployer and serving.

A version lives at ``models/<name>/<version>/`` as ``model.onnx`` plus ``manifest.json``.
The manifest is written last, so its arrival marks a complete version.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

MODELS_PREFIX = "models/"
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
#: A Hugging Face tokenizer.json that travels with its model (pinned by the manifest's `tokenizer`).
TOKENIZER_FILE = "tokenizer.json"
#: The reference profile beside the model: what its inputs and predictions looked like in
#: training (lepton_drift.profile), pinned by the manifest's `reference`.
REFERENCE_FILE = "reference.json"
SCHEMA_VERSION = 1

# Names become URL path segments, S3 prefixes and Lambda function suffixes.
# fullmatch, never `$`: in Python `$` also matches before a trailing newline ("tabular\n").
_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
MODEL_NAME_PATTERN = f"^{_NAME.pattern}$"  # for JSON Schema, where `$` is the end of the string
_MANIFEST_KEY = re.compile(r"models/([a-z][a-z0-9-]{0,62})/([1-9][0-9]{0,8})/manifest\.json")

# V2 datatype names <-> numpy dtype names (the KServe/Triton table).
V2_TO_NUMPY = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
NUMPY_TO_V2 = {v: k for k, v in V2_TO_NUMPY.items()}
#: The V2 protocol extensions every model function implements in full (protocol.py, binary.py):
#: what GET /v2 declares.
V2_EXTENSIONS = ("binary_tensor_data", "classification")


class Task(StrEnum):
    """What a model's outputs mean, so a new version can be compared with the live one on the
    requests callers sent (the deployer's replay gate): which class, which number, which ranking,
    or a drawn sample."""

    CLASSIFIER = "classifier"  # one score per class; the answer is the highest
    REGRESSOR = "regressor"  # numbers
    RANKER = "ranker"  # one score per item; the answer is the top k
    GENERATOR = "generator"  # a sample drawn for a condition (a class) from a latent vector


#: A manifest is a few KB (a vocabulary can make it a few hundred): anything this large is refused unread.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


class ManifestError(ValueError):
    """A manifest is missing fields or carries values that cannot be right."""


# Each field's JSON type(s), checked exactly: bool is not int, int is not str.
_FIELD_TYPES: dict[str, tuple[Any, ...]] = {
    "name": (str,), "version": (int,), "sha256": (str,), "size": (int,), "family": (str,),
    "labels": (list, None), "preprocessing": (dict,), "metrics": (dict,), "golden": (list,),
    "golden_tolerance": (float, int), "training_data_sha256": (str,), "framework": (dict,), "quantized": (bool,),
    "created_at": (str,), "model_file": (str,), "schema_version": (int,), "tokenizer": (dict, None),
    "output_labels": (dict, None), "task": (str,), "replay": (dict,), "reference": (dict, None),
}
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "an object",
               bool: "true or false"}


def _finite_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def valid_name(name: str) -> bool:
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def version_prefix(name: str, version: int) -> str:
    return f"{MODELS_PREFIX}{name}/{int(version)}/"


def model_key(name: str, version: int) -> str:
    return version_prefix(name, version) + MODEL_FILE


def manifest_key(name: str, version: int) -> str:
    return version_prefix(name, version) + MANIFEST_FILE


def parse_manifest_key(key: str) -> tuple[str, int]:
    """``models/<name>/<version>/manifest.json`` -> (name, version); ManifestError otherwise."""
    match = _MANIFEST_KEY.fullmatch(key)
    if not match:
        raise ManifestError(
            f"'{key}' is not a model manifest key; expected models/<name>/<version>/manifest.json"
        )
    return match.group(1), int(match.group(2))


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: V2 datatype and shape, -1 for a free dimension (the batch)."""

    name: str
    datatype: str
    shape: list[int]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        if not isinstance(data, dict):
            raise ManifestError(f"tensor spec {data!r} must be an object with name, datatype and shape")
        name, datatype, shape = data.get("name"), data.get("datatype"), data.get("shape")
        if not isinstance(name, str) or not name or not isinstance(shape, list) or not all(
                type(d) is int and d >= -1 for d in shape):
            raise ManifestError(f"tensor spec {data!r} needs a name, a datatype and a shape of whole numbers "
                                "(-1 for a free dimension)")
        if datatype not in V2_TO_NUMPY:
            raise ManifestError(f"tensor '{name}' has unknown datatype {datatype!r}")
        return cls(name, datatype, list(shape))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass
class GoldenExample:
    """An input the deployer replays, with the outputs it must reproduce.

    ``inputs`` feed the ONNX graph (the gate runs them under onnxruntime). ``request``, when the
    function's public V2 signature differs from the graph's (sentiment takes text, its graph
    token ids), is the same example as V2 input tensors: the pre-traffic check sends it to the
    published function version and expects the same ``outputs``.
    """

    inputs: dict[str, list]
    outputs: dict[str, list]
    request: list[dict[str, Any]] | None = None

    @classmethod
    def from_dict(cls, data: Any, index: int) -> GoldenExample:
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), dict) or not isinstance(
                data.get("outputs"), dict):
            raise ManifestError(f"golden example {index} needs 'inputs' and 'outputs' objects")
        request = data.get("request")
        if request is not None and not (isinstance(request, list) and all(
                isinstance(t, dict) and isinstance(t.get("name"), str) for t in request)):
            raise ManifestError(f"golden example {index}: 'request' must be a list of V2 input tensors")
        return cls(dict(data["inputs"]), dict(data["outputs"]), request)


@dataclass(frozen=True)
class TokenizerFile:
    """The tokenizer.json beside the model: its bytes' sha256 and size (the deployer, the model
    layer and a cold start all check them) and the longest token sequence the model takes."""

    sha256: str
    size: int
    max_length: int
    file: str = TOKENIZER_FILE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenizerFile:
        sha256 = _pinned_sha256(data, "tokenizer", TOKENIZER_FILE)
        size, length = data.get("size"), data.get("max_length")
        if type(size) is not int or size < 0 or type(length) is not int or length < 1:
            raise ManifestError("tokenizer.size must be a whole number and tokenizer.max_length one of at least 1")
        return cls(sha256, size, length)


@dataclass(frozen=True)
class ReferenceFile:
    """The reference profile beside the model: its bytes' sha256 and size, which the deployer
    checks on upload and the drift check checks on every read, and the rows it was computed on."""

    sha256: str
    size: int
    rows: int
    file: str = REFERENCE_FILE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceFile:
        sha256, size, rows = _pinned_sha256(data, "reference", REFERENCE_FILE), data.get("size"), data.get("rows")
        if type(size) is not int or size < 1 or type(rows) is not int or rows < 1:
            raise ManifestError("reference.size and reference.rows must be whole numbers of at least 1")
        return cls(sha256, size, rows)


def _pinned_sha256(data: dict[str, Any], key: str, file: str) -> str:
    """A file pinned beside the model: its sha256, and its name, which is always ``file``."""
    sha256 = data.get("sha256")
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ManifestError(f"{key}.sha256 must be 64 lower-case hex digits")
    if data.get("file", file) != file:
        raise ManifestError(f"{key}.file must be {file!r}: it lives beside the model, under that name")
    return sha256


@dataclass
class Manifest:
    name: str
    version: int
    sha256: str
    size: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    family: str = ""
    labels: list[str] | None = None
    preprocessing: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    golden: list[GoldenExample] = field(default_factory=list)
    golden_tolerance: float = 1e-4
    training_data_sha256: str = ""
    framework: dict[str, str] = field(default_factory=dict)
    quantized: bool = False
    created_at: str = ""
    model_file: str = MODEL_FILE
    schema_version: int = SCHEMA_VERSION
    #: the model's tokenizer.json, when its graph takes token ids the function makes from text
    tokenizer: TokenizerFile | None = None
    #: labels for each score output by name, when there are several (``labels`` is for one)
    output_labels: dict[str, list[str]] | None = None
    #: What the outputs mean ("" = the family's, else read from the signature: lepton_deploy.replay.tasks).
    task: str = ""
    #: The replay gate's thresholds for this model, over its task's defaults (docs/lifecycle.md).
    replay: dict[str, Any] = field(default_factory=dict)
    #: the reference profile drift is measured against (None: a model trained or added without one)
    reference: ReferenceFile | None = None

    def __post_init__(self) -> None:
        if not valid_name(self.name):
            raise ManifestError(
                f"model name '{self.name}' must be lower-case letters, digits and '-', "
                "starting with a letter"
            )
        if not isinstance(self.version, int) or self.version < 1:
            raise ManifestError(f"version must be a positive integer, got {self.version!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256 or ""):
            raise ManifestError("sha256 must be 64 lower-case hex digits")
        if not self.inputs or not self.outputs:
            raise ManifestError("a manifest must list the model's inputs and outputs")

    @property
    def model_key(self) -> str:
        return version_prefix(self.name, self.version) + self.model_file

    @property
    def manifest_key(self) -> str:
        return manifest_key(self.name, self.version)

    @property
    def tokenizer_key(self) -> str | None:
        return version_prefix(self.name, self.version) + TOKENIZER_FILE if self.tokenizer else None

    def labels_of(self, output: str) -> list[str] | None:
        """The labels of one output: its own, else the manifest's single list (which friendly.py
        and the classification extension attach to the output with one score per label)."""
        if self.output_labels:
            return self.output_labels.get(output)
        return self.labels

    @property
    def reference_key(self) -> str | None:
        return version_prefix(self.name, self.version) + REFERENCE_FILE if self.reference else None

    def pinned_files(self) -> list[tuple[str, TokenizerFile | ReferenceFile]]:
        """The files beside the model that this manifest pins (file name, pin): each is uploaded
        before the manifest and checked against its pin wherever it is read."""
        return [(pin.file, pin) for pin in (self.tokenizer, self.reference) if pin is not None]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """A manifest as JSON gives it, every field checked for its type: a wrong type is a
        ManifestError naming the field, never a crash further on (3.9 is not a version, true is not 1)."""
        if not isinstance(data, dict):
            raise ManifestError("a manifest must be a JSON object")
        missing = [k for k in ("name", "version", "sha256", "size", "inputs", "outputs") if k not in data]
        if missing:
            raise ManifestError(f"manifest is missing {', '.join(missing)}")
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key, kinds in _FIELD_TYPES.items():
            if key in kwargs and not (type(kwargs[key]) in kinds or (kwargs[key] is None and None in kinds)):
                names = " or ".join("null" if k is None else _JSON_NAMES[k] for k in kinds)
                raise ManifestError(f"manifest field '{key}' must be {names}, got {kwargs[key]!r:.60}")
        if data["size"] < 0:
            raise ManifestError(f"manifest size must be 0 or more, got {data['size']}")
        if not isinstance(data["inputs"], list) or not isinstance(data["outputs"], list):
            raise ManifestError("manifest inputs and outputs must be lists of tensor specs")
        kwargs["inputs"] = [TensorSpec.from_dict(t) for t in data["inputs"]]
        kwargs["outputs"] = [TensorSpec.from_dict(t) for t in data["outputs"]]
        kwargs["golden"] = [GoldenExample.from_dict(g, i) for i, g in enumerate(data.get("golden", []))]
        bad = {k: v for k, v in kwargs.get("metrics", {}).items() if not _finite_number(v)}
        if bad:
            raise ManifestError(f"metrics must be finite numbers; {', '.join(f'{k}={v!r}' for k, v in bad.items())} "
                                "is not")
        tolerance = kwargs.get("golden_tolerance", 1e-4)
        if not _finite_number(tolerance) or not 0 < tolerance <= 1:
            raise ManifestError(f"golden_tolerance must be a number in (0, 1], got {tolerance!r}")
        if kwargs.get("labels") is not None and not all(isinstance(x, str) for x in kwargs["labels"]):
            raise ManifestError("labels must be a list of strings")
        if kwargs.get("tokenizer") is not None:
            kwargs["tokenizer"] = TokenizerFile.from_dict(kwargs["tokenizer"])
        output_labels = kwargs.get("output_labels")
        if output_labels is not None and not all(
                isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in output_labels.values()):
            raise ManifestError("output_labels must map output names to lists of label strings")
        if kwargs.get("task", "") not in ("", *Task):
            raise ManifestError(f"task must be one of {', '.join(Task)}, got {kwargs['task']!r:.40}")
        bad = {k: v for k, v in kwargs.get("replay", {}).items() if not _finite_number(v)}
        if bad:
            raise ManifestError(f"replay thresholds must be finite numbers; {', '.join(map(repr, bad))} is not")
        if kwargs.get("reference") is not None:
            kwargs["reference"] = ReferenceFile.from_dict(kwargs["reference"])
        if kwargs.get("model_file", MODEL_FILE) != MODEL_FILE:
            raise ManifestError(f"model_file must be {MODEL_FILE!r}: the model lives beside its manifest, under "
                                "that one name")
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ManifestError(f"manifest is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = [t.to_dict() for t in self.inputs]
        data["outputs"] = [t.to_dict() for t in self.outputs]
        # Absent rather than null: a manifest without them reads (and hashes) as before.
        for optional in ("tokenizer", "output_labels", "reference"):
            if data[optional] is None:
                del data[optional]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)
