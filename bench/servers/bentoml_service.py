"""The same model as a BentoML service (run with .venv-bench-bentoml's `bentoml serve`).

One worker (BentoML's default), one CPU, the V2 route and request body:
    BENCH_MODEL_NAME=tabular BENCH_MODEL_PATH=model.onnx \
        bentoml serve bentoml_service:OnnxService --port PORT
"""
from __future__ import annotations

import os
from typing import Any

import bentoml
import numpy as np

NAME = os.environ.get("BENCH_MODEL_NAME", "model")
PATH = os.environ.get("BENCH_MODEL_PATH", "model.onnx")
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}
NUMPY_TO_V2 = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32"}


@bentoml.service(workers=1, resources={"cpu": "1"}, logging={"access": {"enabled": False}})
class OnnxService:
    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(PATH, sess_options=options, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    @bentoml.api(route=f"/v2/models/{NAME}/infer")
    def infer(self, inputs: list[dict[str, Any]], id: str | None = None,
              parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        feed = {t["name"]: np.asarray(t["data"], dtype=DTYPES[t["datatype"]]).reshape(t["shape"]) for t in inputs}
        outputs = self.session.run(self.output_names, feed)
        return {"model_name": NAME, "id": id, "outputs": [
            {"name": n, "datatype": NUMPY_TO_V2[a.dtype.name], "shape": list(a.shape), "data": a.ravel().tolist()}
            for n, a in zip(self.output_names, outputs)]}
