"""The same model in KServe's Python model server (run with .venv-bench-kserve's python).

A custom kserve.Model that runs onnxruntime, served on the V2 REST route
/v2/models/<name>/infer, one uvicorn worker (KServe's default), HTTP only:

    python kserve_server.py MODEL_NAME MODEL_PATH --http_port PORT --workers 1 --enable_grpc false
"""
from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

NUMPY_TO_V2 = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32"}


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, sess_options=options, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feed = {i.name: i.as_numpy() for i in payload.inputs}
        outputs = []
        for name, array in zip(self.output_names, self.session.run(self.output_names, feed)):
            out = InferOutput(name=name, shape=list(array.shape), datatype=NUMPY_TO_V2[array.dtype.name])
            out.set_data_from_numpy(array, binary_data=False)
            outputs.append(out)
        return InferResponse(model_name=self.name, infer_outputs=outputs, response_id=payload.id)


if __name__ == "__main__":
    name, path = sys.argv[1], sys.argv[2]
    sys.argv = [sys.argv[0], *sys.argv[3:]]  # the rest are ModelServer's own flags
    ModelServer().start([OnnxModel(name, path)])
