"""ONNX files the way users bring them, built here: scikit-learn through skl2onnx, graphs shaped like
PyTorch exports (named dynamic axes, several inputs and outputs, every V2 datatype family), and
the ones `lepton add` must refuse. Nothing is downloaded; each takes milliseconds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def breast_cancer(features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return x[:, :features].astype(np.float32), y


def sklearn_classifier(zipmap: bool = False) -> tuple[bytes, np.ndarray]:
    """A StandardScaler + LogisticRegression pipeline trained here; (ONNX bytes, some rows)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = breast_cancer()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    options = None if zipmap else {id(pipeline.steps[-1][1]): {"zipmap": False}}
    return to_onnx(pipeline, x[:1], options=options, target_opset=OPSET).SerializeToString(), x[:5]


def sklearn_regressor() -> tuple[bytes, np.ndarray]:
    """A StandardScaler + Ridge pipeline; its one output is [batch, 1]."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = breast_cancer()
    pipeline = make_pipeline(StandardScaler(), Ridge()).fit(x, y.astype(np.float32))
    return to_onnx(pipeline, x[:1], target_opset=OPSET).SerializeToString(), x[:5]


def torch_shaped() -> bytes:
    """Named dynamic axes (batch_size, sequence: dynamic but not the batch), five inputs and five
    outputs of INT64, BOOL, FP16, FP64 and STRING, as torch.onnx.export writes them."""
    batch_seq = ["batch_size", "sequence"]
    nodes = [
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Where", ["attention_mask", "input_ids", "zero"], ["masked_ids"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_int"], to=TensorProto.INT64),
        helper.make_node("Constant", [], ["axis1"], value=numpy_helper.from_array(np.array([1], np.int64))),
        helper.make_node("ReduceSum", ["mask_int", "axis1"], ["tokens"], keepdims=0),
        helper.make_node("Greater", ["tokens", "zero"], ["has_tokens"]),
        helper.make_node("Mul", ["scale", "scale"], ["scale_squared"]),
        helper.make_node("ReduceSum", ["bias", "axis1"], ["bias_total"], keepdims=0),
        helper.make_node("Identity", ["text"], ["echo"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, batch_seq),
        helper.make_tensor_value_info("attention_mask", TensorProto.BOOL, batch_seq),
        helper.make_tensor_value_info("scale", TensorProto.FLOAT16, ["batch_size", 2]),
        helper.make_tensor_value_info("bias", TensorProto.DOUBLE, ["batch_size", 3]),
        helper.make_tensor_value_info("text", TensorProto.STRING, ["batch_size"]),
    ]
    outputs = [
        helper.make_tensor_value_info("masked_ids", TensorProto.INT64, batch_seq),
        helper.make_tensor_value_info("has_tokens", TensorProto.BOOL, ["batch_size"]),
        helper.make_tensor_value_info("scale_squared", TensorProto.FLOAT16, ["batch_size", 2]),
        helper.make_tensor_value_info("bias_total", TensorProto.DOUBLE, ["batch_size"]),
        helper.make_tensor_value_info("echo", TensorProto.STRING, ["batch_size"]),
    ]
    return _model(nodes, inputs, outputs, producer="pytorch")


TORCH_SAMPLE = {  # a friendly-route request for torch_shaped(): columns, two rows, sequence 3
    "inputs": {
        "input_ids": [[101, 7, 102], [101, 9, 0]],
        "attention_mask": [[True, True, True], [True, True, False]],
        "scale": [[0.5, 2.0], [1.5, -1.0]],
        "bias": [[0.1, 0.2, 0.3], [1.0, 2.0, 3.0]],
        "text": ["first", "second"],
    }
}


def with_custom_domain() -> bytes:
    node = helper.make_node("FastGelu", ["x"], ["y"], domain="com.example")
    model = _model([node], [_float("x")], [_float("y")], extra_opsets=[helper.make_opsetid("com.example", 1)],
                   check=False)
    return model


def with_sequence_output() -> bytes:
    node = helper.make_node("SequenceConstruct", ["x"], ["items"])
    out = helper.make_tensor_sequence_value_info("items", TensorProto.FLOAT, ["batch", 3])
    return _model([node], [_float("x")], [out])


def with_bfloat16_output() -> bytes:
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.BFLOAT16)
    return _model([node], [_float("x")], [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, ["batch", 3])])


def with_external_data(folder: Path) -> Path:
    """A model saved with its weights in a second file, as exporters do above 2 GB."""
    weights = numpy_helper.from_array(np.arange(3 * 300, dtype=np.float32).reshape(3, 300), "W")
    node = helper.make_node("MatMul", ["x", "W"], ["y"])
    graph = helper.make_graph([node], "external", [_float("x")],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 300])], [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    path = folder / "external.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location="external.onnx.data",
                    size_threshold=0)
    return path


def small_float_model() -> bytes:
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_float("x")], [_float("y")])


def _float(name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 3])


def _model(nodes: list, inputs: list, outputs: list, producer: str = "lepton-tests",
           extra_opsets: list | None = None, check: bool = True) -> bytes:
    graph = helper.make_graph(nodes, "own", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), *(extra_opsets or [])],
                              producer_name=producer)
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()
