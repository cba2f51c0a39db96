"""The local AWS of the local stack: a moto server on loopback, and clients for it.

Functions running in this process reach it through the standard AWS_ENDPOINT_URL variable
(boto3 honours it), set once for the process while the stack runs, as Lambda's runtime sets
its credentials once per execution environment.

The moto server runs on a thread of this process, as moto's ThreadedMotoServer runs it, with one
addition: every write it serves that the stack follows (an alias moved, a deployment recorded)
is marked in `changes` (changes.py), whoever made it, so the stack's followers block instead of
polling. An external endpoint marks nothing; there the followers poll (`every`).
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Any

from .changes import SAFETY_SECONDS, Changes

REGION = "us-east-1"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class LocalAws:
    def __init__(self, host: str, port: int, external: bool = False):
        """``external``: a moto server (or another endpoint) already runs at host:port."""
        self.host, self.port, self.external = host, port, external
        self.changes = Changes()
        self.server: MotoServer | None = None
        self._clients: dict[str, Any] = {}
        self._saved_env: dict[str, str | None] = {}
        self._undo_interpreter: Any = None

    def every(self, poll_seconds: float) -> float:
        """How often a follower looks unasked: ``poll_seconds`` against an external endpoint,
        whose writes are not seen here, else only now and then (changes.SAFETY_SECONDS)."""
        return poll_seconds if self.server is None else SAFETY_SECONDS

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """What every local function and client sees: the endpoint, fake credentials, no X-Ray."""
        return {**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION, "POWERTOOLS_TRACE_DISABLED": "true"}

    def start(self) -> None:
        if self.external:
            if not port_open(self.host, self.port):
                raise SystemExit(f"nothing answers on {self.endpoint}")
        elif port_open(self.host, self.port):
            raise SystemExit(f"port {self.port} is already in use; stop what runs there or pass --aws-port")
        else:
            from .step_functions import enable_interpreter

            self.server = MotoServer(self.host, self.port, self.changes)
            self.server.start()
            self._undo_interpreter = enable_interpreter(self.port)  # moto runs state machines here
        self.activate()

    def activate(self) -> None:
        """Point this process's AWS clients at the local endpoint (undone by `stop`)."""
        env = self.environment()
        self._saved_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        _forget_cached_clients()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.endpoint,
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        return self._clients[service]

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self._undo_interpreter is not None:
            self._undo_interpreter()
        for key, value in self._saved_env.items():  # leave the process as we found it
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_cached_clients()


def _forget_cached_clients() -> None:
    """Clients the functions cached were made for the previous endpoint."""
    from lepton_serving import clients

    clients.reset()


class MotoServer:
    """moto's WSGI app on a werkzeug server thread, each served write marked in ``changes``."""

    def __init__(self, host: str, port: int, changes: Changes):
        self.host, self.port, self.changes = host, port, changes
        #: what runs Invoke calls for the stack's functions (lambda_invoke.py); the stack sets it
        self.invocations: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from .lambda_invoke import InvokeRoute

        app = InvokeRoute(self.changes.watched(DomainDispatcherApplication(create_backend_app)),
                          lambda: self.invocations)
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="lepton-moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
