"""Read an ONNX file the way the deployer's gate will judge it, and refuse what cannot be served.

Every refusal says why and what to do, and comes before anything is written: external data,
operator domains outside the standard ones, sequence or map tensors (scikit-learn's ZipMap),
datatypes the V2 protocol cannot carry, a file over the size budget, a graph the ONNX checker
or onnxruntime will not take.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from lepton_serving.errors import ModelIntegrityError
from lepton_serving.manifest import NUMPY_TO_V2, V2_TO_NUMPY, TensorSpec
from lepton_serving.session import STANDARD_DOMAINS, create_session

from .errors import Refused

ZIPMAP_FIX = ('export without ZipMap so the probabilities are one tensor: skl2onnx.to_onnx(model, X, '
              'options={"zipmap": False}) (for a pipeline, options={id(classifier): {"zipmap": False}})')


@dataclass(frozen=True)
class Tensor:
    """One graph input or output: its V2 datatype and its dimensions as declared, named ones kept."""

    name: str
    datatype: str
    dims: tuple[int | str, ...]  # a size, a dimension's name (batch_size, sequence) or "?"

    @property
    def spec(self) -> TensorSpec:
        """What the manifest and the V2 metadata say: -1 for every dimension that is not fixed."""
        return TensorSpec(self.name, self.datatype, [d if isinstance(d, int) else -1 for d in self.dims])

    def describe(self) -> str:
        return f"{self.name} {self.datatype} [{', '.join(str(d) for d in self.dims)}]"


@dataclass(frozen=True)
class OnnxModel:
    path: Path
    data: bytes = field(repr=False)
    sha256: str
    ir_version: int
    opsets: dict[str, int]
    domains: tuple[str, ...]
    producer: str
    inputs: list[Tensor]
    outputs: list[Tensor]

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> list[str]:
        opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(self.opsets.items()))
        return [f"file      {self.path.name}, {self.size:,} bytes, sha256 {self.sha256[:12]}…",
                f"producer  {self.producer or 'unknown'}; IR {self.ir_version}; opsets {opsets}",
                *(f"input     {t.describe()}" for t in self.inputs),
                *(f"output    {t.describe()}" for t in self.outputs)]


def inspect_model(path: Path, max_bytes: int) -> OnnxModel:
    """The file's facts, or Refused with the first reason it cannot be served."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"there is no file {path}", "pass the path of an .onnx file: --model model.onnx")
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(f"{path.name} is {size:,} bytes; a model function's budget is {max_bytes:,} bytes "
                      "(LEPTON_MAX_MODEL_BYTES of the deployer in template.yaml)",
                      "make it smaller (onnxruntime.quantization.quantize_dynamic often halves it) or raise "
                      "LEPTON_MAX_MODEL_BYTES and the function's memory")
    data = path.read_bytes()
    model = _parse(path, data)
    check_external_data(model)
    check_domains(model)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [_tensor(v, "input") for v in model.graph.input if v.name not in initializers]
    outputs = [_tensor(v, "output") for v in model.graph.output]
    if not inputs or not outputs:
        raise Refused(f"{path.name} has {len(inputs)} input(s) and {len(outputs)} output(s)",
                      "export a graph that takes at least one input and returns at least one output")
    _check(model, data, path)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    opsets = {imp.domain: imp.version for imp in model.opset_import}
    domains = tuple(sorted(_domains(model)))
    return OnnxModel(path, data, hashlib.sha256(data).hexdigest(), model.ir_version, opsets, domains, producer,
                     inputs, outputs)


def check_external_data(model: onnx.ModelProto) -> None:
    external = [t for t in _tensors(model) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        files = sorted({e.value for t in external for e in t.external_data if e.key == "location"})
        raise Refused(f"the model keeps weights in external file(s) {', '.join(files) or '(unnamed)'}",
                      "save one self-contained file: onnx.save_model(onnx.load('model.onnx'), 'single.onnx', "
                      "save_as_external_data=False) (possible below 2 GB)")


def check_domains(model: onnx.ModelProto) -> None:
    odd = sorted(d for d in _domains(model) if d not in STANDARD_DOMAINS)
    if odd:
        raise Refused(f"the model uses operator domain(s) {', '.join(repr(d) for d in odd)}, which the served "
                      "onnxruntime does not load", "export with standard operators only ('' / ai.onnx and "
                      "ai.onnx.ml): no custom ops, no onnxruntime-specific fusions (optimize at load time instead)")


def _parse(path: Path, data: bytes) -> onnx.ModelProto:
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise Refused(f"{path.name} is not an ONNX model (it does not parse: {type(exc).__name__})",
                      "export the model to ONNX first (skl2onnx, torch.onnx.export, Keras model.export)") from exc
    if not model.graph.node and not model.graph.output:
        raise Refused(f"{path.name} holds an empty ONNX graph", "export the model to ONNX first")
    return model


def _check(model: onnx.ModelProto, data: bytes, path: Path) -> None:
    """What the deployer's gate runs too: the ONNX checker, then an onnxruntime session."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0][:240] if str(exc).strip() else type(exc).__name__
        raise Refused(f"the ONNX checker refuses {path.name}: {first}",
                      "re-export it with a current exporter and opset") from exc
    try:
        create_session(data, threads=1, where=path.name)
    except ModelIntegrityError as exc:
        raise Refused(exc.message, "re-export it with an opset this onnxruntime supports") from exc


def _tensor(value: onnx.ValueInfoProto, role: str) -> Tensor:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        what = {"sequence_type": "a sequence", "map_type": "a map", "optional_type": "an optional",
                "sparse_tensor_type": "a sparse tensor"}.get(kind or "", "not a tensor")
        zipmap = kind == "sequence_type" and value.type.sequence_type.elem_type.WhichOneof("value") == "map_type"
        fix = ZIPMAP_FIX if zipmap else "make every graph input and output a dense tensor"
        raise Refused(f"{role} '{value.name}' is {what}{' of maps (scikit-learn ZipMap)' if zipmap else ''}; "
                      "the V2 protocol carries tensors only", fix)
    tensor = value.type.tensor_type
    datatype = v2_datatype(tensor.elem_type)
    if datatype is None:
        name = onnx.TensorProto.DataType.Name(tensor.elem_type)
        raise Refused(f"{role} '{value.name}' is {name}, which the V2 protocol cannot carry (it has "
                      f"{', '.join(V2_TO_NUMPY)}; STRING travels as BYTES)",
                      "add a Cast node to a type it has (FLOAT for the float8/bfloat16 family), or re-export")
    if not tensor.HasField("shape"):
        raise Refused(f"{role} '{value.name}' declares no shape, so requests cannot be checked",
                      "export with input and output shapes (dynamic axes are fine)")
    dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim)
    return Tensor(value.name, datatype, dims)


def v2_datatype(elem_type: int) -> str | None:
    """ONNX element type -> V2 datatype (STRING is BYTES), None when V2 has no such type."""
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None
    if elem_type == onnx.TensorProto.STRING:
        return "BYTES"
    # ml_dtypes stand-ins (bfloat16, float8, int4) have numpy names V2 does not know.
    return None if dtype.kind == "O" else NUMPY_TO_V2.get(dtype.name)


def _domains(model: onnx.ModelProto) -> set[str]:
    used = {imp.domain for imp in model.opset_import}
    used |= {node.domain for graph in _graphs(model.graph) for node in graph.node}
    return used | {f.domain for f in model.functions}


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            yield from (g for sub in ([attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs)
                        for g in _graphs(sub))


def _tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    for graph in _graphs(model.graph):
        yield from graph.initializer
        yield from (s.values for s in graph.sparse_initializer)
        yield from (a.t for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.TENSOR)
        yield from (t for n in graph.node for a in n.attribute if a.type == onnx.AttributeProto.TENSORS
                    for t in a.tensors)
