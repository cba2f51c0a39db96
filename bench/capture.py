"""Section 7: what payload capture costs, every request captured against none, in one run.

Two pairs of servers serve the same models, all started together and measured in turn for each
concurrency and repeat (http.interleaved), so a change in the shared machine's load falls on all
of them alike:

- the function: the same gateway and handlers alone (bench/servers/lepton_api.py) with
  LEPTON_CAPTURE_SAMPLE_RATE 1 against 0. Each captured request's record is built and written
  as one line to the function log, what a Lambda function does (its stdout); CloudWatch Logs
  and Firehose then carry it outside the function. This pair is what the targets are about: at
  most 5 % fewer requests per second, at most 10 % longer p99.
- `lepton up` with `--capture-rate 1` (what `make up` runs) against `--capture-rate 0`. With
  capture on, every record also goes the whole local path: the capture agent's process, moto's
  CloudWatch Logs, subscription filter and Firehose stream, the local S3. On a machine busy
  enough, that emulation competes with the server for the CPU; in AWS, CloudWatch Logs and
  Firehose do that work, not the function. The records that landed are counted at the end, so a
  capture that did nothing cannot pass for a cheap one.
"""
from __future__ import annotations

import contextlib
from typing import Any

from . import up
from .aws import LocalS3
from .common import Settings
from .http import CONCURRENCY, interleaved, lepton_api
from .models import BenchModel

PAIRS = {"function": ("function, capture 100%", "function, capture off"),
         "lepton up": ("lepton up, capture 100%", "lepton up, capture off")}
TARGETS = {"rps_loss_percent": 5.0, "p99_growth_percent": 10.0}


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    work = settings.work / "capture"
    work.mkdir(parents=True, exist_ok=True)
    bodies = {}
    for model in models:
        bodies[model.name] = work / f"{model.name}-body.json"
        bodies[model.name].write_bytes(model.body(1, flat=True))
    results: dict[str, Any] = {"concurrency": list(CONCURRENCY), "targets": TARGETS, "pairs": PAIRS,
                               "models": {}, "compared": {}}
    with contextlib.ExitStack() as running:
        servers = {}
        for rate, name in zip(("1", "0"), PAIRS["lepton up"]):
            servers[name] = running.enter_context(up.server(work / f"up-{rate}", models, work / f"lepton-up-{rate}.log",
                                                            "--capture-rate", rate, name=name))
        for rate, name in zip(("1", "0"), PAIRS["function"]):
            servers[name] = running.enter_context(lepton_api(work, s3, models, running,
                                                             {"LEPTON_CAPTURE_SAMPLE_RATE": rate}, name))
        for name in PAIRS["lepton up"]:
            for model, why in up.ready(servers[name], models, bodies).items():
                settings.say(f"  {name} does not serve {model}: {why}")
        for model in models:
            measured = interleaved(settings, {name: (server, bodies[model.name]) for name, server in servers.items()},
                                   model)
            results["models"][model.name] = measured
            results["compared"][model.name] = {pair: compare(measured, *names) for pair, names in PAIRS.items()}
            for pair, by_c in results["compared"][model.name].items():
                for c, figures in by_c.items():
                    settings.say(f"  capture, {pair}, {model.name} c={c}: {figures['rps_loss_percent']:+.1f} % req/s "
                                 f"lost, p99 {figures['p99_growth_percent']:+.1f} %")
        results["captured"] = captured(servers[PAIRS["lepton up"][0]].aws_port, models)
        settings.say(f"  records captured to the local S3: {results['captured']}")
    return results


def compare(measured: dict[str, Any], on_name: str, off_name: str) -> dict[str, dict[str, float]]:
    """Per concurrency: the share of requests per second lost with capture on, and the p99's growth."""
    on, off = measured.get(on_name), measured.get(off_name)
    if not isinstance(on, dict) or not isinstance(off, dict) or "error" in on or "error" in off:
        return {}
    out = {}
    for c in map(str, CONCURRENCY):
        rps_on, rps_off = on[c]["rps"]["median"], off[c]["rps"]["median"]
        p99_on, p99_off = on[c]["p99_ms"]["median"], off[c]["p99_ms"]["median"]
        out[c] = {"rps_loss_percent": round(100.0 * (1.0 - rps_on / rps_off), 2),
                  "p99_growth_percent": round(100.0 * (p99_on / p99_off - 1.0), 2)}
    return out


def captured(aws_port: int | None, models: list[BenchModel]) -> dict[str, int]:
    """Records in the capturing stack's local S3, per model, read as the deployer reads them."""
    if aws_port is None:
        return {}
    import boto3
    from lepton.local.capture_setup import capture_bucket_name
    from lepton.local.local_aws import LOCAL_CREDENTIALS, REGION
    from lepton.local.provisioning import PREFIX
    from lepton_deploy.captures import CaptureStore

    s3 = boto3.client("s3", region_name=REGION, endpoint_url=f"http://127.0.0.1:{aws_port}",
                      aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    store = CaptureStore(s3, capture_bucket_name(PREFIX))
    return {model.name: sum(1 for _ in store.records(model.name)) for model in models}
