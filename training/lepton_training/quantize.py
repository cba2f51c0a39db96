"""Optional int8 dynamic quantisation, kept only when the held-out metric barely moves."""
from __future__ import annotations

import logging
from pathlib import Path

import onnx


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = {node.op_type for node in onnx.load(str(src)).graph.node}
    # GRU is exported as a Loop whose body quantize_dynamic cannot handle; MatMul-only works.
    op_types = ["MatMul"] if "Loop" in ops or "GRU" in ops else None
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=op_types)
