"""Baseline: "TensorFlow in a Lambda", as most Lambda ML samples write it. Import TensorFlow,
download the Keras model from S3 (moto), load it, answer the same API Gateway event with
model.predict. Prints `BENCH_RESULT {json}`."""
import time

T0 = time.time()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

cfg = json.loads(sys.argv[1])
sys.path.append(cfg["site_packages"])
stages = {}
p = time.perf_counter()
import boto3  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

stages["imports"] = time.perf_counter() - p
p = time.perf_counter()
path = os.path.join(cfg["tmp"], "model.keras")
boto3.client("s3").download_file(cfg["bucket"], cfg["keras_key"], path)
stages["model"] = time.perf_counter() - p
p = time.perf_counter()
model = tf.keras.models.load_model(path)
stages["session"] = time.perf_counter() - p


def lambda_handler(event, context):
    request = json.loads(event["body"])
    tensor = request["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    y = model.predict(x, verbose=0)
    return {"statusCode": 200, "body": json.dumps({"outputs": [{"data": y.ravel().tolist()}]})}


p = time.perf_counter()
response = lambda_handler(json.loads(open(cfg["event"]).read()), None)
stages["first_inference"] = time.perf_counter() - p
stages["interpreter"] = T0 - cfg["spawned"]
stages["total"] = time.time() - cfg["spawned"]
stages["status"] = response["statusCode"]
sys.stdout.write("BENCH_RESULT " + json.dumps(stages) + "\n")
