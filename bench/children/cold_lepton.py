"""One cold start of a model function, as Lambda runs it: a fresh interpreter, the function's
handler imported from its CodeUri with the layers and site-packages behind it, the model read
from where the environment says (a LEPTON_MODEL_DIR laid out like the model layer, or the bucket:
moto S3), the session created in the init phase, then one API Gateway event answered.

Run as `python -I -S cold_lepton.py CONFIG_JSON` (no site, no script dir: sys.path is set below
exactly as Lambda's is). Prints one line `BENCH_RESULT {json}` with the stage timings.
"""
import time

T0 = time.time()

import json  # noqa: E402
import sys  # noqa: E402

cfg = json.loads(sys.argv[1])
sys.path[:0] = [cfg["code_uri"], *cfg["layers"]]
sys.path.append(cfg["site_packages"])
stages = {}

p = time.perf_counter()
import importlib  # noqa: E402

module_name, _, attr = cfg["handler"].rpartition(".")
handler = getattr(importlib.import_module(module_name), attr)
stages["imports"] = time.perf_counter() - p

model = handler.plane.model
_load = model.load


def load(local, threads=1):
    started = time.perf_counter()
    import onnxruntime  # noqa: F401  - timed apart: it is an import, paid on the first load

    imported = time.perf_counter()
    try:
        return _load(local, threads=threads)
    finally:
        stages["ort_import"] = imported - started
        stages["session"] = stages.get("session", 0.0) + time.perf_counter() - imported


model.load = load
p = time.perf_counter()
handler.warm()  # what serve() does in Lambda's init phase
init = time.perf_counter() - p
# Reading, verifying (and on the S3 path fetching, with boto3's import and client) the model:
# the whole init but the session and onnxruntime's import.
stages["model"] = max(0.0, init - stages.get("session", 0.0) - stages.get("ort_import", 0.0))
stages["imports"] += stages.get("ort_import", 0.0)
stages["boto3"] = "boto3" in sys.modules
stages["s3_downloads"] = getattr(handler.plane.store, "downloads", None)


class Context:
    aws_request_id = "cold-start"
    function_name = cfg["handler"]
    memory_limit_in_mb = 1024

    @staticmethod
    def get_remaining_time_in_millis():
        return 15000


event = json.loads(open(cfg["event"]).read())
p = time.perf_counter()
response = handler(event, Context())
stages["first_inference"] = time.perf_counter() - p
T1 = time.time()
stages["interpreter"] = T0 - cfg["spawned"]
stages["total"] = T1 - cfg["spawned"]
stages["status"] = response.get("statusCode")
stages["ready"] = bool(model.ready)
sys.stdout.write("BENCH_RESULT " + json.dumps(stages) + "\n")
sys.stdout.flush()
