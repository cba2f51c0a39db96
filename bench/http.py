"""Section 3: throughput and latency over HTTP on loopback, ours against the peers.

Servers, each its own process, one model per request body (the same V2 JSON for all):
  lepton   the local API as `lepton up` serves it (API Gateway emulation, validation, metrics)
  fastapi  a minimal FastAPI + uvicorn V2 endpoint (reference point, no validation/metrics)
  kserve   KServe's Python model server, custom kserve.Model on onnxruntime (own venv)
  bentoml  a BentoML service on onnxruntime (own venv)
The load generator (bench.loadgen) is a separate process, bounded in requests and seconds.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import venvs
from .aws import BUCKET, LocalS3
from .common import ROOT, Settings, child_env, free_port, summary, wait_port
from .models import BenchModel

CONCURRENCY = (1, 8, 32)
SERVERS = Path(__file__).resolve().parent / "servers"


class Server:
    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str], cwd: Path, log: Path):
        self.name, self.argv, self.port, self.env, self.cwd, self.log = name, argv, port, env, cwd, log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        out.close()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this Popen created (bentoml has workers)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def ready(self, path: str, body: bytes, timeout: float = 120.0) -> None:
        wait_port(self.port, timeout, self.proc)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                                 headers={"content-type": "application/json"})
                with urllib.request.urlopen(request, timeout=10) as response:
                    if response.status == 200:
                        return
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = str(exc)
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} never answered 200 on {path}: {last}; see {self.log}")


def _load(port: int, path: str, body_file: Path, concurrency: int, requests: int, seconds: float,
          warmup: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--path", path, "--body", str(body_file),
            "--concurrency", str(concurrency), "--requests", str(requests), "--max-seconds", str(seconds),
            "--warmup", str(warmup)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(settings: Settings, server: Server, model: BenchModel, body_file: Path) -> dict[str, Any]:
    try:
        return _measure_one(settings, server, model, body_file)
    except Exception as exc:  # noqa: BLE001 - reported in the notes, the run goes on
        settings.say(f"  http {server.name} {model.name} failed: {exc}")
        return {"error": f"{type(exc).__name__}: {str(exc)[-300:]}"}


def _measure_one(settings: Settings, server: Server, model: BenchModel, body_file: Path) -> dict[str, Any]:
    path = f"/v2/models/{model.name}/infer"
    server.ready(path, body_file.read_bytes())
    repeats = settings.n(2, 1)
    out = {}
    for concurrency in CONCURRENCY:
        runs = [_load(server.port, path, body_file, concurrency, settings.n(5000, 300), settings.n(6, 4),
                      settings.n(300, 20)) for _ in range(repeats)]
        errors = sum(r["errors"] for r in runs)
        out[str(concurrency)] = {
            "rps": summary([r["rps"] for r in runs]),
            "p50_ms": summary([r["p50_ms"] for r in runs]),
            "p99_ms": summary([r["p99_ms"] for r in runs]),
            "requests": sum(r["requests"] for r in runs), "errors": errors, "repeats": repeats,
        }
        settings.say(f"  http {server.name:8} {model.name} c={concurrency:<3} "
                     f"{out[str(concurrency)]['rps']['median']:8.0f} req/s  p50 "
                     f"{out[str(concurrency)]['p50_ms']['median']:.2f} ms  p99 "
                     f"{out[str(concurrency)]['p99_ms']['median']:.2f} ms  errors {errors}")
    return out


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
    import tempfile

    work = settings.work / "http"
    work.mkdir(parents=True, exist_ok=True)
    bodies, peer_bodies = {}, {}
    results: dict[str, Any] = {"concurrency": list(CONCURRENCY), "servers": {}, "notes": {}}
    for model in models:
        bodies[model.name] = work / f"{model.name}-body.json"
        bodies[model.name].write_bytes(model.body(1, flat=True))
        peer_bodies[model.name] = bodies[model.name]
        if not model.public_is_graph():
            # the function's public signature differs from the graph (e.g. text in, tokens to the
            # graph): peers serve the bare ONNX file, so they get the graph's tensors instead
            peer_bodies[model.name] = work / f"{model.name}-graph-body.json"
            peer_bodies[model.name].write_bytes(model.graph_body(1, flat=True))
            results["notes"][model.name] = ("Lepton takes the function's public V2 input (preprocessing in the "
                                            "function); fastapi/kserve/bentoml take the ONNX graph's tensors")

    # ours: one process serving every model function, as `lepton up` does
    with tempfile.TemporaryDirectory(prefix="lepton-http-") as cache:
        port = free_port()
        shared = {k: v for k, v in s3.function_env(models[0], cache).items() if not k.startswith(("LEPTON_MODEL",
                                                                                                   "POWERTOOLS_SERVICE"))}
        shared.pop("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None)
        functions = {}
        for model in models:
            env = s3.function_env(model, cache)
            functions[model.logical_id] = {k: v for k, v in env.items() if k.startswith("LEPTON_MODEL")}
        cfg_file = work / "lepton-api.json"
        cfg_file.write_text(json.dumps({"port": port, "env": shared, "bucket": BUCKET, "functions": functions,
                                        "log": str(work / "lepton-functions.log")}))
        argv = [sys.executable, "-m", "bench.servers.lepton_api", str(cfg_file)]
        with Server("lepton", argv, port, child_env(), ROOT, work / "lepton-server.log") as server:
            results["servers"]["lepton"] = {m.name: _measure(settings, server, m, bodies[m.name]) for m in models}

    # the minimal FastAPI reference, in our venv
    results["servers"]["fastapi"] = {}
    for model in models:
        port = free_port()
        argv = [sys.executable, "-m", "bench.servers.fastapi_ref", model.name, str(model.model_path), str(port)]
        with Server("fastapi", argv, port, child_env(), ROOT, work / "fastapi.log") as server:
            results["servers"]["fastapi"][model.name] = _measure(settings, server, model, peer_bodies[model.name])

    if not settings.peers:
        results["notes"]["peers"] = "KServe and BentoML skipped (--no-peers)"
        return results
    for peer in ("kserve", "bentoml"):
        try:
            python = venvs.ensure(peer, settings.say)
        except subprocess.CalledProcessError as exc:
            results["notes"][peer] = f"could not install {' '.join(venvs.PINS[peer])}: {exc}"
            settings.say(f"  {peer}: {results['notes'][peer]}")
            continue
        results["servers"][peer] = {}
        for model in models:
            port = free_port()
            if peer == "kserve":
                argv = [str(python), str(SERVERS / "kserve_server.py"), model.name, str(model.model_path),
                        "--http_port", str(port), "--workers", "1", "--enable_grpc", "false",
                        "--enable_latency_logging", "false"]
                env = child_env()
            else:
                argv = [str(python.parent / "bentoml"), "serve", "bentoml_service:OnnxService", "--host", "127.0.0.1",
                        "--port", str(port)]
                env = child_env({"BENCH_MODEL_NAME": model.name, "BENCH_MODEL_PATH": str(model.model_path),
                                 "BENTOML_HOME": str(work / "bentoml-home"), "BENTOML_DO_NOT_TRACK": "true"})
            with Server(peer, argv, port, env, SERVERS, work / f"{peer}.log") as server:
                results["servers"][peer][model.name] = _measure(settings, server, model, peer_bodies[model.name])
    results["versions"] = {peer: venvs.PINS[peer][0] for peer in ("kserve", "bentoml")}
    return results
