"""A benchmark server: a child process in its own session, stopped with its whole group."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import wait_port


class Server:
    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str], cwd: Path, log: Path):
        self.name, self.argv, self.port, self.env, self.cwd, self.log = name, argv, port, env, cwd, log
        self.proc: subprocess.Popen | None = None
        self.aws_port: int | None = None  # `lepton up`'s local AWS, when it is one (bench/up.py)

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
