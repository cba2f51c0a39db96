"""What a model function's cold start imports, step by step, under `python -X importtime`.

Run as `python -I -S -X importtime cold_imports.py CONFIG_JSON` (sys.path set below as Lambda's).
The steps run in the order a cold start meets them, each importing only what the earlier ones
did not; a marker line goes to stderr (fd 2, unbuffered, like importtime's own lines) before
each, so the parent can add up each step's top-level imports. Then, when CONFIG names one, an
import a cold start does not make (each in its own process, so none is counted on top of
another): the S3 path's boto3 and client, the tracer's X-Ray SDK, Pillow, Powertools' HTTP
resolver, or Hugging Face tokenizers (only a model with a tokenizer.json loads it). Prints `BENCH_RESULT {json}` with each step's wall time too.
"""
import time

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

cfg = json.loads(sys.argv[1])
sys.path[:0] = [cfg["code_uri"], *cfg["layers"]]
sys.path.append(cfg["site_packages"])
wall = {}


def step(name, action):
    os.write(2, f"BENCH_STEP {name}\n".encode())
    started = time.perf_counter()
    action()
    wall[name] = time.perf_counter() - started


def handler():
    import importlib

    importlib.import_module(cfg["handler"].rpartition(".")[0])


def s3_client():
    import boto3

    boto3.session.Session().client("s3", region_name="us-east-1")


def tracer():
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "bench"
    from aws_lambda_powertools import Tracer

    Tracer(service="bench")


# At init, in the order a cold start meets them.
step("numpy", lambda: __import__("numpy"))
step("orjson", lambda: __import__("orjson"))
step("powertools", lambda: __import__("aws_lambda_powertools"))  # Logger and Metrics
step("lepton_serving", lambda: __import__("lepton_serving.app"))
step("function", handler)
step("onnxruntime", lambda: __import__("onnxruntime"))  # on the model load
# Not at init: one of them, on top of the above.
EXTRA = {"boto3": s3_client, "xray": tracer, "pillow": lambda: __import__("PIL.Image"),
         "resolver": lambda: __import__("aws_lambda_powertools.event_handler"),
         "tokenizers": lambda: __import__("tokenizers")}  # a tokenizer model's load
if cfg.get("extra"):
    step(cfg["extra"], EXTRA[cfg["extra"]])
os.write(2, b"BENCH_STEP end\n")
sys.stdout.write("BENCH_RESULT " + json.dumps(wall) + "\n")
