"""Baseline: a bare onnxruntime process. Import numpy and onnxruntime, create a session from the
same model file, run the same request once. Prints `BENCH_RESULT {json}`."""
import time

T0 = time.time()

import json  # noqa: E402
import sys  # noqa: E402

cfg = json.loads(sys.argv[1])
sys.path.append(cfg["site_packages"])
stages = {}
p = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

stages["imports"] = time.perf_counter() - p
p = time.perf_counter()
data = open(cfg["model_path"], "rb").read()  # a local file: no download
stages["model"] = time.perf_counter() - p
p = time.perf_counter()
options = ort.SessionOptions()
options.intra_op_num_threads = 1  # as the function uses (1024 MB = one vCPU)
options.inter_op_num_threads = 1
session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
stages["session"] = time.perf_counter() - p
p = time.perf_counter()
request = json.loads(cfg["body"])  # the graph's own tensors (the function's request, when they match)
dtypes = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BYTES": object}
feed = {t["name"]: np.asarray(t["data"], dtype=dtypes[t["datatype"]]).reshape(t["shape"]) for t in request["inputs"]}
outputs = session.run(None, feed)
body = json.dumps({"outputs": [o.ravel().tolist() for o in outputs]})
stages["first_inference"] = time.perf_counter() - p
stages["interpreter"] = T0 - cfg["spawned"]
stages["total"] = time.time() - cfg["spawned"]
stages["status"] = 200
sys.stdout.write("BENCH_RESULT " + json.dumps(stages) + "\n")
