"""The local AWS of the local stack: a moto server on loopback, and clients for it.

Functions running in this process reach it through the standard AWS_ENDPOINT_URL variable
(boto3 honours it), set once for the process while the stack runs, as Lambda's runtime sets
its credentials once per execution environment.
"""
from __future__ import annotations

import os
import socket
from typing import Any

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
        self.server: Any = None
        self._clients: dict[str, Any] = {}
        self._saved_env: dict[str, str | None] = {}

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
            from moto.server import ThreadedMotoServer

            self.server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
            self.server.start()
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
