"""The drift check over one day of captures at 10 requests per second: time and peak memory.

    python -m bench.drift                        tabular and digits, 864,000 records each
    python -m bench.drift --models tabular --records 100000

For each model it writes a day of capture records (lepton_serving.capture's own record lines,
one per request, every request captured), stored as Firehose stores them: a gzip'ed CloudWatch
Logs envelope per 60-second buffer (1,440 objects a day), in a moto S3 server on this machine.
Then, in a fresh process as the drift function would be, it runs the drift function's check
(lepton_deploy.monitoring.live_check.check_version, reading through lepton_deploy.captures) over the day:
once reading every record, once with the function's default sample bound
(LEPTON_DRIFT_MAX_RECORDS). Each run reports its wall time, the peak resident memory of the
process (ru_maxrss, which includes Python, numpy, scipy and boto3 themselves) and the records read.
S3 here is in-process moto over loopback: in AWS, reads go over the network, so count the times as
the parse-and-compute part; the sample bound is what keeps a busy day inside the timeout.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .common import ROOT

DAY_RECORDS = 864_000  # 10 requests per second for 24 hours
PER_OBJECT_SECONDS = 60  # Firehose's buffer interval in template.yaml
BUCKET_MODELS, BUCKET_CAPTURES = "bench-models", "bench-captures"
START = datetime(2026, 12, 1, tzinfo=UTC)
#: Trained models with reference profiles (`lepton train tabular digits`).
ARTIFACTS = ROOT / ".lepton" / "artifacts"


def _requests(model: str, count: int, seed: int) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """``count`` one-row requests like callers send, and the model's answers to them (onnxruntime)."""
    from lepton_training.data import digits, tabular

    rng = np.random.default_rng(seed)
    if model == "tabular":
        rows = tabular.load(seed=42, test_size=0.2).x_test.astype(np.float32)
        name = "features"
    else:
        rows = digits.load(seed=42, test_size=0.2).x_test.astype(np.float32)
        name = "image"
    picks = rows[rng.integers(0, len(rows), size=min(count, 4096))]  # distinct rows, reused
    import onnxruntime as ort

    session = ort.InferenceSession(str(ARTIFACTS / model / "model.onnx"), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {name: picks})[0]
    out_name = session.get_outputs()[0].name
    return ([{name: picks[i:i + 1]} for i in range(len(picks))], [{out_name: outputs[i:i + 1]} for i in range(len(picks))])


def write_day(s3: Any, model: str, version: int, count: int, seed: int = 1) -> dict[str, Any]:
    """A day of ``count`` records of ``model`` in the capture bucket, as Firehose files them."""
    from lepton_serving.capture import Capture, CaptureSettings

    inputs, outputs = _requests(model, count, seed)
    lines: list[str] = []
    capture = Capture(CaptureSettings(sample_rate=1.0), model, function=f"lepton-{model}", function_version="1",
                      write=lines.append)
    step = 86400.0 / count
    per_object = max(1, int(PER_OBJECT_SECONDS / step))
    started = time.perf_counter()
    written_bytes = objects = 0
    events: list[dict[str, Any]] = []
    for i in range(count):
        at = START.timestamp() + i * step
        exchange = capture.begin("predict", f"r{i}")
        assert exchange is not None
        exchange.started = at
        exchange.inputs, exchange.outputs, exchange.version = inputs[i % len(inputs)], outputs[i % len(outputs)], str(version)
        capture.end(exchange, 200, 0.002)
        events.append({"id": str(i), "timestamp": int(at * 1000), "message": lines.pop().rstrip("\n")})
        if len(events) >= per_object or i == count - 1:
            hour = datetime.fromtimestamp(at, UTC)
            key = f"captures/{model}/{hour:%Y/%m/%d/%H}/stream-1-{hour:%Y-%m-%d-%H-%M-%S}-{objects:06d}"
            body = gzip.compress(json.dumps({"messageType": "DATA_MESSAGE", "logGroup": f"/aws/lambda/lepton-{model}",
                                             "logStream": "s", "logEvents": events}).encode(), compresslevel=1)
            s3.put_object(Bucket=BUCKET_CAPTURES, Key=key, Body=body)
            written_bytes += len(body)
            objects += 1
            events = []
    return {"records": count, "objects": objects, "stored_bytes": written_bytes,
            "write_seconds": round(time.perf_counter() - started, 1)}


def publish_model(s3: Any, model: str) -> int:
    from lepton_training.publish import publish

    return publish(ARTIFACTS / model, BUCKET_MODELS, s3_client=s3).version


def check_in_child(endpoint: str, model: str, version: int, max_records: int | None) -> dict[str, Any]:
    """The check in a fresh process: wall time, peak RSS, records read."""
    code = f"""
import json, resource, sys, time
from datetime import datetime, timedelta, UTC
import boto3
started = time.perf_counter()
from lepton_deploy.captures import CaptureStore
from lepton_drift.check import Thresholds
from lepton_deploy.monitoring.live_check import Sources, Span, check_version
from lepton_serving.bucket import ModelBucket
from lepton_serving.manifest import manifest_key
s3 = boto3.client("s3", endpoint_url={endpoint!r}, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
bucket = ModelBucket(s3, {BUCKET_MODELS!r})
manifest = bucket.manifest(manifest_key({model!r}, {version}))
start = datetime.fromisoformat({START.isoformat()!r})
span = Span(start, start + timedelta(days=1) - timedelta(milliseconds=1), {max_records!r}, seed=1)
imported = time.perf_counter() - started
report = check_version(Sources(bucket, CaptureStore(s3, {BUCKET_CAPTURES!r})), manifest, span, Thresholds())
print(json.dumps({{"seconds": round(time.perf_counter() - started, 1), "startup_seconds": round(imported, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "records_read": report.records, "rows": report.rows, "sampled": report.sampled,
                  "level": report.level.value, "message": report.message}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(models: list[str], records: int, cap: int) -> dict[str, Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    from lepton.local.local_aws import port_open

    port = next(p for p in range(45_000, 45_100) if not port_open("127.0.0.1", p))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        for bucket in (BUCKET_MODELS, BUCKET_CAPTURES):
            s3.create_bucket(Bucket=bucket)
        results: dict[str, Any] = {"records_per_day": records, "sample_bound": cap, "models": {}}
        for model in models:
            version = publish_model(s3, model)
            day = write_day(s3, model, version, records)
            full = check_in_child(endpoint, model, version, None)
            sampled = check_in_child(endpoint, model, version, cap)
            results["models"][model] = {"day": day, "every_record": full, "sample_bound": sampled}
            print(json.dumps({model: results["models"][model]}, indent=2), flush=True)
        return results
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tabular,digits")
    parser.add_argument("--records", type=int, default=DAY_RECORDS)
    parser.add_argument("--cap", type=int, default=200_000, help="the sample bound (LEPTON_DRIFT_MAX_RECORDS)")
    parser.add_argument("--out", type=Path, default=ROOT / ".lepton" / "bench" / "drift.json")
    args = parser.parse_args(argv)
    results = run([m for m in args.models.split(",") if m], args.records, args.cap)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
