"""Reference point: a minimal hand-written FastAPI + uvicorn V2 endpoint around onnxruntime.
No validation, no metrics, no logs: the floor a Python HTTP server gives this model.

    python -m bench.servers.fastapi_ref MODEL_NAME MODEL_PATH PORT
"""
from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

NAME, PATH, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}
NUMPY_TO_V2 = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32"}

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(PATH, sess_options=options, providers=["CPUExecutionProvider"])
output_names = [o.name for o in session.get_outputs()]
app = FastAPI()


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    doc = orjson.loads(await request.body())
    feed = {t["name"]: np.asarray(t["data"], dtype=DTYPES[t["datatype"]]).reshape(t["shape"]) for t in doc["inputs"]}
    outputs = session.run(output_names, feed)
    body = {"model_name": name, "id": doc.get("id"), "outputs": [
        {"name": n, "datatype": NUMPY_TO_V2[a.dtype.name], "shape": list(a.shape), "data": a.ravel()}
        for n, a in zip(output_names, outputs)]}
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, workers=1, log_level="warning", access_log=False)
