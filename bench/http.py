"""Section 3: throughput and latency over HTTP on loopback, ours against the peers.

Servers, each its own process, one model per request body (the same V2 JSON for all):
  lepton      `lepton up` itself (bench/up.py): the local AWS, the deployer having promoted the
              benchmark's models, the API Gateway emulation, validation, metrics to the local
              CloudWatch, the function log; measured at rest first (bench/idle.py)
  lepton-api  the same gateway and handlers alone (bench/servers/lepton_api.py): no local AWS,
              no followers, no metrics forwarding; what `lepton up` is compared with
  fastapi     a minimal FastAPI + uvicorn V2 endpoint (reference point, no validation/metrics)
  kserve   KServe's Python model server, custom kserve.Model on onnxruntime (own venv)
  bentoml  a BentoML service on onnxruntime (own venv)
The load generator (bench.loadgen) is a separate process, bounded in requests and seconds.
"""
from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import idle, up, venvs
from .aws import BUCKET, LocalS3
from .common import ROOT, Settings, child_env, free_port, summary
from .models import BenchModel
from .server import Server

CONCURRENCY = (1, 8, 32)
SERVERS = Path(__file__).resolve().parent / "servers"


def _load(port: int, path: str, body_file: Path, concurrency: int, requests: int, seconds: float,
          warmup: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(port), "--path", path, "--body", str(body_file),
            "--concurrency", str(concurrency), "--requests", str(requests), "--max-seconds", str(seconds),
            "--warmup", str(warmup)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rps": summary([r["rps"] for r in runs]), "p50_ms": summary([r["p50_ms"] for r in runs]),
            "p99_ms": summary([r["p99_ms"] for r in runs]), "requests": sum(r["requests"] for r in runs),
            "errors": sum(r["errors"] for r in runs), "repeats": len(runs)}


def _say(settings: Settings, name: str, model: BenchModel, concurrency: int, cell: dict[str, Any]) -> None:
    settings.say(f"  http {name:10} {model.name} c={concurrency:<3} {cell['rps']['median']:8.0f} req/s  p50 "
                 f"{cell['p50_ms']['median']:.2f} ms  p99 {cell['p99_ms']['median']:.2f} ms  errors {cell['errors']}")


def _failed(settings: Settings, name: str, model: BenchModel, exc: Exception) -> dict[str, str]:
    settings.say(f"  http {name} {model.name} failed: {exc}")
    return {"error": f"{type(exc).__name__}: {str(exc)[-300:]}"}


def _measure(settings: Settings, server: Server, model: BenchModel, body_file: Path) -> dict[str, Any]:
    """One server alone, every concurrency in turn (the peers)."""
    return interleaved(settings, {server.name: (server, body_file)}, model)[server.name]


def interleaved(settings: Settings, servers: dict[str, tuple[Server, Path]], model: BenchModel,
                 ready_timeout: float = 120.0) -> dict[str, dict[str, Any]]:
    """Every server, all running at once, measured in turn for each concurrency and repeat, so
    a change in the shared machine's load falls on all of them alike."""
    path = f"/v2/models/{model.name}/infer"
    out: dict[str, dict[str, Any]] = {}
    live = {}
    for name, (server, body) in servers.items():
        try:
            # `lepton up` opens its port once every deployment is decided: a model not live then never is
            server.ready(path, body.read_bytes(), timeout=15 if name == "lepton" else ready_timeout)
            live[name] = (server, body)
        except Exception as exc:  # noqa: BLE001 - reported in the notes, the run goes on
            out[name] = _failed(settings, name, model, exc)
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {name: {c: [] for c in CONCURRENCY} for name in live}
    for concurrency in CONCURRENCY:
        for _ in range(settings.n(2, 1)):
            for name, (server, body) in list(live.items()):
                try:
                    runs[name][concurrency].append(_load(server.port, path, body, concurrency, settings.n(5000, 300),
                                                          settings.n(6, 4), settings.n(300, 20)))
                except Exception as exc:  # noqa: BLE001
                    out[name] = _failed(settings, name, model, exc)
                    del live[name]
        for name in live:
            _say(settings, name, model, concurrency, _cell(runs[name][concurrency]))
    for name in live:
        out[name] = {str(c): _cell(by_c) for c, by_c in runs[name].items()}
    return out


#: what differs between model functions (the rest of the environment is shared by all of them)
PER_FUNCTION = ("LEPTON_MODEL", "LEPTON_MANIFEST")


def lepton_api(work: Path, s3: LocalS3, models: list[BenchModel], running: contextlib.ExitStack,
               extra_env: dict[str, str] | None = None, name: str = "lepton-api") -> Server:
    """bench/servers/lepton_api.py serving every model with the configuration its deployed
    version has (and ``extra_env``), models fetched from the benchmark's S3."""
    cache = running.enter_context(tempfile.TemporaryDirectory(prefix="lepton-http-"))
    port = free_port()
    shared = {k: v for k, v in s3.function_env(models[0], cache).items()
              if not k.startswith(PER_FUNCTION + ("POWERTOOLS_SERVICE",))} | (extra_env or {})
    shared.pop("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None)
    functions = {}
    for model in models:
        env = s3.function_env(model, cache)
        functions[model.logical_id] = {k: v for k, v in env.items() if k.startswith(PER_FUNCTION)}
    slug = name.replace(" ", "-").replace("%", "")
    cfg_file = work / f"{slug}.json"
    cfg_file.write_text(json.dumps({"port": port, "env": shared, "bucket": BUCKET, "functions": functions,
                                    "log": str(work / f"{slug}-functions.log")}))
    argv = [sys.executable, "-m", "bench.servers.lepton_api", str(cfg_file)]
    return Server(name, argv, port, child_env(), ROOT, work / f"{slug}.log")


def run(settings: Settings, s3: LocalS3, models: list[BenchModel]) -> dict[str, Any]:
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

    with contextlib.ExitStack() as running:
        # ours: `lepton up` itself, first at rest, alone
        lepton_up = running.enter_context(up.server(work / "up-state", models, work / "lepton-up.log"))
        try:
            for name, why in up.ready(lepton_up, models, bodies).items():
                settings.say(f"  lepton up does not serve {name}: {why}")
            assert lepton_up.proc is not None
            results["idle"] = idle.measure(lepton_up.proc.pid, settings.n(60, 3), settle=settings.n(5, 1))
            settings.say(f"  idle: lepton up used {results['idle']['cpu_percent']:.2f} % of a core over "
                         f"{results['idle']['seconds']:.0f} s")
        except Exception as exc:  # noqa: BLE001 - each model's measurement says what failed
            settings.say(f"  lepton up did not start: {exc}")
        # then under load, side by side with the same gateway and handlers alone and the FastAPI floor
        api_server = running.enter_context(lepton_api(work, s3, models, running))
        fastapi = {}
        for model in models:
            port = free_port()
            argv = [sys.executable, "-m", "bench.servers.fastapi_ref", model.name, str(model.model_path), str(port)]
            fastapi[model.name] = running.enter_context(
                Server("fastapi", argv, port, child_env(), ROOT, work / f"fastapi-{model.name}.log"))
        for name in ("lepton", "lepton-api", "fastapi"):
            results["servers"][name] = {}
        for model in models:
            measured = interleaved(settings, {"lepton": (lepton_up, bodies[model.name]),
                                               "lepton-api": (api_server, bodies[model.name]),
                                               "fastapi": (fastapi[model.name], peer_bodies[model.name])}, model)
            for name, cells in measured.items():
                results["servers"][name][model.name] = cells

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
