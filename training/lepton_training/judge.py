"""The trained digits classifier as the judge of generated images: its ONNX file, the one that
is served, run by onnxruntime.

It gives the class it reads in each image, and the activations of its penultimate layer: the
feature space of the Fréchet distance. The features come from the same ONNX graph: the input of
the last MatMul/Gemm (the classification layer in front of the softmax) is made a second
output of an in-memory copy. So one file and one runtime answer both questions, with no
TensorFlow and no Keras model to keep next to the served file.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx

from .export import session
from .manifest_writer import file_digest

_CLASSIFIER_OPS = ("MatMul", "Gemm")
_BIAS_OPS = ("Add",)


class JudgeError(ValueError):
    """The classifier's graph does not end in the classification layer this module looks for."""


def penultimate(proto: onnx.ModelProto) -> str:
    """The name of the tensor that feeds the classification layer: walk back from the first output
    through Softmax, an optional bias Add, to the MatMul/Gemm, and take its data input."""
    producers = {out: node for node in proto.graph.node for out in node.output}
    node = producers.get(proto.graph.output[0].name)
    if node is not None and node.op_type == "Softmax":
        node = producers.get(node.input[0])
    if node is not None and node.op_type in _BIAS_OPS:
        node = next((producers[i] for i in node.input if i in producers and producers[i].op_type in _CLASSIFIER_OPS), None)
    if node is None or node.op_type not in _CLASSIFIER_OPS:
        raise JudgeError("the classifier's output is not Softmax(MatMul/Gemm(features) [+ bias]); "
                         "cannot find its penultimate layer")
    return node.input[0]


class Judge:
    """Class predictions and penultimate features of the digits classifier in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        model_path = self.folder / "model.onnx"
        proto = onnx.load(str(model_path))
        self.feature_name = penultimate(proto)
        proto.graph.output.append(onnx.helper.make_empty_tensor_value_info(self.feature_name))
        self._session = session(proto.SerializeToString())
        self._input = self._session.get_inputs()[0].name
        self.sha256, _ = file_digest(model_path)
        manifest = json.loads((self.folder / "manifest.json").read_text(encoding="utf-8"))
        self.version = int(manifest.get("version", 0))
        self.accuracy = manifest.get("metrics", {}).get("accuracy")

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(predicted class [N], features [N, F]) for images [N, 8, 8] on the 0..16 scale."""
        probabilities, features = self._session.run(None, {self._input: np.asarray(images, dtype=np.float32)})
        return probabilities.argmax(axis=1), features.reshape(len(features), -1)

    def describe(self) -> dict[str, object]:
        return {"family": "digits", "sha256": self.sha256, "version": self.version,
                "held_out_accuracy": self.accuracy, "features": self.feature_name}
