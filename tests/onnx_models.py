"""Real ONNX models and manifests for tests, built with the onnx helper API (no TensorFlow).

The MLP has the seed network's shape, 3 -> Dense(5, relu) -> Dense(2, softmax), with weights
drawn from a seed, so different seeds give different, checkable outputs.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from lepton_serving.manifest import GoldenExample, Manifest, TensorSpec


def mlp_weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(3, 5)).astype(np.float32),
        "b1": rng.normal(size=(5,)).astype(np.float32),
        "W2": rng.normal(size=(5, 2)).astype(np.float32),
        "b2": rng.normal(size=(2,)).astype(np.float32),
    }


def mlp_model(seed: int = 0, input_name: str = "features", output_name: str = "probabilities",
              weights: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    weights = weights or mlp_weights(seed)
    nodes = [
        helper.make_node("MatMul", [input_name, "W1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "W2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["z1"]),
        helper.make_node("Softmax", ["z1"], [output_name], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "tabular",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lepton-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def swapped_mlp(seed: int) -> bytes:
    """The seed's MLP with its two output columns swapped: it answers the other class for every row,
    and golden examples computed from it agree with it."""
    weights = mlp_weights(seed)
    weights["W2"], weights["b2"] = weights["W2"][:, ::-1].copy(), weights["b2"][::-1].copy()
    return mlp_model(weights=weights).SerializeToString()


def nudged_mlp(seed: int, scale: float = 0.05, noise_seed: int = 99) -> bytes:
    """The seed's MLP with every weight moved by ``scale`` of its spread: a retrain that learnt
    nearly the same function."""
    rng = np.random.default_rng(noise_seed)
    weights = {k: (v + rng.normal(scale=scale * float(np.std(v)) + 1e-6, size=v.shape)).astype(np.float32)
               for k, v in mlp_weights(seed).items()}
    return mlp_model(weights=weights).SerializeToString()


def swap_outputs(model_bytes: bytes, manifest: Manifest) -> tuple[bytes, Manifest]:
    """Any classifier with its first output's two columns swapped (a Gather after the graph's last
    node), and its manifest with golden outputs computed from the swapped graph: self-consistent,
    so only the answers callers get are wrong."""
    model = onnx.load_model_from_string(model_bytes)
    final = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [f"{final}_unswapped" if o == final else o for o in node.output]
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 0], np.int64), "swap_columns"))
    model.graph.node.append(helper.make_node("Gather", [f"{final}_unswapped", "swap_columns"], [final], axis=1))
    data = model.SerializeToString()
    doc = manifest.to_dict()
    for example in doc["golden"]:
        feed = {k: np.asarray(v, np.float32) for k, v in example["inputs"].items()}
        example["outputs"] = {k: v.tolist() for k, v in run(data, feed).items()}
    doc.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    return data, Manifest.from_dict(doc)


def run(model_bytes: bytes, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))


def manifest_for(model_bytes: bytes, name: str = "tabular", version: int = 1,
                 golden_rows: list[list[float]] | None = None, **fields) -> Manifest:
    """A complete manifest whose signature is read from the model and goldens computed by onnxruntime."""
    proto = onnx.load_model_from_string(model_bytes)
    inputs = [_spec(v) for v in proto.graph.input]
    outputs = [_spec(v) for v in proto.graph.output]
    rows = golden_rows or [[0.5, -1.0, 0.2], [1.5, 0.3, -0.7], [-0.4, 0.8, 1.1]]
    golden = []
    for row in rows:
        feed = {inputs[0].name: np.asarray([row], dtype=np.float32)}
        out = run(model_bytes, feed)
        golden.append(GoldenExample({inputs[0].name: [row]}, {k: v.tolist() for k, v in out.items()}))
    defaults = dict(
        labels=["malignant", "benign"],
        preprocessing={"feature_names": ["worst radius", "worst smoothness", "worst texture"]},
        metrics={"accuracy": 0.9},
        family=name,
        created_at=datetime.now(UTC).isoformat(),
        framework={"onnx": onnx.__version__, "onnxruntime": ort.__version__, "opset": "17"},
    )
    defaults.update(fields)
    return Manifest(
        name=name, version=version, sha256=hashlib.sha256(model_bytes).hexdigest(), size=len(model_bytes),
        inputs=inputs, outputs=outputs, golden=golden, **defaults,
    )


_ELEM = {TensorProto.FLOAT: "FP32", TensorProto.INT64: "INT64", TensorProto.INT32: "INT32", TensorProto.DOUBLE: "FP64"}


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return TensorSpec(value.name, _ELEM[tensor.elem_type], shape)


def with_noop_chain(model: onnx.ModelProto, operators: int, width: int = 1) -> onnx.ModelProto:
    """The same model, much slower: its output passed through ``operators`` Relu nodes in a row.
    Relu is the identity on probabilities (never negative), so every answer is the same; but
    onnxruntime keeps each node (no optimisation removes a Relu), so each call runs them all.
    With ``width`` above 1 the output is first broadcast to that many copies along a new last
    axis (each Relu then has ``width`` times the work) and reduced back with ReduceMax, whose
    maximum of equal copies is the value itself (opset 17's ReduceMax: axes as an attribute)."""
    slow = onnx.ModelProto()
    slow.CopyFrom(model)
    graph = slow.graph
    output = graph.output[0].name
    producer = next(node for node in graph.node if output in node.output)
    chain_in = f"{output}_noop_in"
    producer.output[list(producer.output).index(output)] = chain_in
    first = f"{output}_noop_0"
    if width > 1:
        graph.initializer.append(numpy_helper.from_array(np.array([-1], np.int64), f"{output}_noop_axis"))
        graph.initializer.append(numpy_helper.from_array(np.array([1, 1, width], np.int64), f"{output}_noop_width"))
        graph.node.append(helper.make_node("Unsqueeze", [chain_in, f"{output}_noop_axis"], [f"{output}_noop_one"]))
        graph.node.append(helper.make_node("Expand", [f"{output}_noop_one", f"{output}_noop_width"], [first]))
    else:
        graph.node.append(helper.make_node("Identity", [chain_in], [first]))
    for i in range(operators):
        graph.node.append(helper.make_node("Relu", [f"{output}_noop_{i}"], [f"{output}_noop_{i + 1}"]))
    last = f"{output}_noop_{operators}"
    if width > 1:
        graph.node.append(helper.make_node("ReduceMax", [last], [output], axes=[-1], keepdims=0))
    else:
        graph.node.append(helper.make_node("Identity", [last], [output]))
    onnx.checker.check_model(slow, full_check=True)
    return slow
