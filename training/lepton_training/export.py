"""Keras -> ONNX export with named outputs, checked by onnx.checker and a parity test.

The exported file is written under a temporary name and moved into place only after every
check has passed, so a failed export never leaves a model.onnx behind.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from lepton_serving.manifest import NUMPY_TO_V2, TensorSpec

from .inputs import Inputs, feed, rows, take
from .tf_env import import_tensorflow
from .train import predict

OPSET = 17
PARITY_TOLERANCE = 1e-4
BATCH_DIM = "batch"


class ExportError(RuntimeError):
    """The exported ONNX file is unusable: checker failure, wrong contract, external data."""


class ParityError(ExportError):
    """onnxruntime and TensorFlow disagree by more than the tolerance."""


def convert(model: Any, path: Path, opset: int = OPSET) -> None:
    """The raw Keras 3 export (tf2onnx under the hood); the model must have been called once."""
    import_tensorflow()
    model.export(str(path), format="onnx", opset_version=opset, verbose=False)


def rename_outputs(proto: onnx.ModelProto, names: Sequence[str]) -> None:
    """Give graph outputs their contract names (Keras calls them e.g. 'Identity:0')."""
    graph = proto.graph
    if len(graph.output) != len(names):
        raise ExportError(f"model has {len(graph.output)} outputs, contract names {len(names)}")
    for output, new in zip(graph.output, names):
        old = output.name
        if old == new:
            continue
        for node in graph.node:
            node.output[:] = [new if o == old else o for o in node.output]
            node.input[:] = [new if i == old else i for i in node.input]
        output.name = new


def name_batch_dimension(proto: onnx.ModelProto) -> None:
    """Replace tf2onnx's 'unk__N' symbolic batch dimension with a readable 'batch'."""
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_DIM


def tensor_specs(values: Sequence[onnx.ValueInfoProto]) -> list[TensorSpec]:
    specs = []
    for value in values:
        tensor = value.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)).name
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        specs.append(TensorSpec(value.name, NUMPY_TO_V2[dtype], shape))
    return specs


def read_specs(path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """(inputs, outputs) as declared in the ONNX file (initializers excluded)."""
    proto = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in initializers]
    return tensor_specs(inputs), tensor_specs(proto.graph.output)


def check(path: Path) -> None:
    """onnx.checker with full shape inference, and no external data files."""
    proto = onnx.load(str(path), load_external_data=False)
    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise ExportError(f"{path.name} stores tensors outside the file: {external[:3]}")
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"onnx.checker rejected {path.name}: {exc}") from exc


def session(model: Path | bytes) -> Any:
    """An onnxruntime CPU session for a file, or for serialized model bytes."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def onnx_predict(path: Path) -> Any:
    """A predict(x) -> first output function over one onnxruntime session; x is one array, or
    a dict of arrays by input name."""
    sess = session(path)
    names = [i.name for i in sess.get_inputs()]
    return lambda x: sess.run(None, feed(x, names))[0]


def verify_parity(model: Any, path: Path, x: Inputs, tolerance: float = PARITY_TOLERANCE) -> float:
    """Max |onnxruntime - TensorFlow| on ``x``; raises ParityError above ``tolerance``."""
    expected = predict(model, x)
    actual = onnx_predict(path)(x)
    if actual.shape != expected.shape:
        raise ParityError(f"onnxruntime output shape {actual.shape} != TensorFlow {expected.shape}")
    diff = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))) if expected.size else 0.0
    if not np.isfinite(diff) or diff > tolerance:
        raise ParityError(f"onnxruntime differs from TensorFlow by {diff:.3g} (> {tolerance:g}) on {rows(x)} held-out samples")
    return diff


def check_contract(path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> None:
    actual_in, actual_out = read_specs(path)
    if actual_in != inputs or actual_out != outputs:
        raise ExportError(
            f"{path.name} has inputs {[s.to_dict() for s in actual_in]} and outputs "
            f"{[s.to_dict() for s in actual_out]}; the contract is {[s.to_dict() for s in inputs]} "
            f"-> {[s.to_dict() for s in outputs]}"
        )


def export_verified(
    model: Any,
    path: Path,
    parity_inputs: Inputs,
    contract: tuple[list[TensorSpec], list[TensorSpec]],
    tolerance: float = PARITY_TOLERANCE,
    opset: int = OPSET,
) -> dict[str, Any]:
    """Export ``model`` to ``path`` and verify it; raise (leaving no file) if any check fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        model(take(parity_inputs, slice(0, 1)), training=False)  # Keras cannot export a model that was never called
        convert(model, tmp, opset)
        proto = onnx.load(str(tmp))
        rename_outputs(proto, [spec.name for spec in contract[1]])
        name_batch_dimension(proto)
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        check(tmp)
        check_contract(tmp, *contract)
        max_diff = verify_parity(model, tmp, parity_inputs, tolerance)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the file is meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    proto = onnx.load(str(path))
    return {
        "opset": opset,
        "parity_max_abs_diff": max_diff,
        "parity_samples": rows(parity_inputs),
        "parity_tolerance": tolerance,
        "ops": sorted({node.op_type for node in proto.graph.node}),
    }
