"""Optional int8 dynamic quantisation; pipeline.py decides whether the result is kept."""
from __future__ import annotations

import logging
from pathlib import Path

import onnx


class _DropQuantizerChatter(logging.Filter):
    """quantize_dynamic logs hints ('consider pre-processing', 'parameters not specified') on the
    root logger; the pipeline reports what matters (metric before/after, size)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname.replace("\\", "/")


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = {node.op_type for node in onnx.load(str(src)).graph.node}
    # GRU and masked RNNs are exported as a Loop whose body quantize_dynamic cannot handle;
    # restricting it to MatMul works.
    op_types = ["MatMul"] if "Loop" in ops or "GRU" in ops else None
    hint = _DropQuantizerChatter()
    root = logging.getLogger()
    root.addFilter(hint)
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=op_types)
    finally:
        root.removeFilter(hint)
