"""`lepton up` itself as a benchmark child: its own ports and state folder, `--no-train`, serving
the benchmark's models, which it publishes through its own S3 -> SQS -> deployer path.

The HTTP section and the soak measure this process, so what they report is what `make up` runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .common import ROOT, child_env, free_port, wait_port
from .server import Server
from .models import BenchModel


def state_dir(folder: Path, models: list[BenchModel]) -> Path:
    """A state folder whose artifacts/ holds the benchmark's models (links, nothing copied)."""
    (folder / "artifacts").mkdir(parents=True, exist_ok=True)
    for model in models:
        link = folder / "artifacts" / model.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(model.artifact_dir.resolve(), target_is_directory=True)
    return folder


def server(folder: Path, models: list[BenchModel], log: Path, *options: str, name: str = "lepton up") -> Server:
    """A `Server` running `lepton up` (with ``options``, e.g. --capture-rate 0) on free ports;
    enter it, then `ready` for each model. Its local AWS port is ``aws_port``."""
    port, aws_port = free_port(), free_port()
    argv = [sys.executable, "-m", "lepton.cli", "up", "--port", str(port), "--aws-port", str(aws_port),
            "--state-dir", str(state_dir(folder, models)), "--no-train", "--models", ",".join(m.name for m in models),
            *options]
    made = Server(name, argv, port, child_env(), ROOT, log)
    made.aws_port = aws_port
    return made


def ready(up: Server, models: list[BenchModel], bodies: dict[str, Path], start_timeout: float = 300.0) -> dict[str, str]:
    """Wait until `lepton up` serves, then send each model a first request; returns why each
    model that does not answer 200 does not (it opens its port once every deployment is
    decided, so a model that does not answer then never will)."""
    wait_port(up.port, start_timeout, up.proc)
    failed = {}
    for model in models:
        try:
            up.ready(f"/v2/models/{model.name}/infer", bodies[model.name].read_bytes(), timeout=15)
        except RuntimeError as exc:
            failed[model.name] = str(exc)
    return failed
