"""One onnxruntime InferenceSession per execution environment.

onnxruntime is imported here and nowhere at package import time, so the deployer and the
control API can use this library without the onnxruntime layer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ModelIntegrityError

#: Operator sets onnxruntime ships everywhere; anything else needs custom ops this layer does not load.
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})

if TYPE_CHECKING:
    import onnxruntime


def create_session(model_bytes: bytes, threads: int, where: str = "model") -> onnxruntime.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # An explicit count: the default (0) pins threads to cores, which Lambda's cgroups punish.
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 4  # failures become our own error messages, not stderr noise
    try:
        # From bytes, never a path: a model that points at external data files cannot load.
        return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped Fail/InvalidGraph errors
        text = str(exc)
        if "model_path must not be empty" in text or "external data" in text.lower():
            raise ModelIntegrityError(
                f"{where} references external data files; publish one self-contained .onnx file"
            ) from exc
        raise ModelIntegrityError(f"{where} is not a loadable ONNX model: {text.splitlines()[0][:200]}") from exc
