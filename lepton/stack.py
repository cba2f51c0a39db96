"""The local stack behind `make up`: AWS (moto server) on :4566 and the HTTP API on :3000.

It provisions what template.yaml declares (bucket, tables, queue, one Lambda function per
template function with a `live` alias), publishes the trained models to the bucket, and lets
the real redeploy path promote them: S3 notification -> SQS -> deployer -> alias. Requests
are served by the version the alias names, so local and cloud behave the same.
"""
from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aliases import LiveAliases
from .functions import FunctionHost
from .gateway import LocalGateway, asgi_app
from .template import Template

log = logging.getLogger("lepton.stack")

REGION = "us-east-1"
ACCOUNT = "123456789012"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class StackSettings:
    root: Path = field(default_factory=Path.cwd)
    host: str = "127.0.0.1"
    api_port: int = 3000
    aws_port: int = 4566
    state_dir: Path | None = None
    bucket: str = "lepton-models"
    train_missing: bool = True
    models: list[str] | None = None  # serve only these (default: every model function)
    external_aws: bool = False  # a moto server (or other endpoint) already runs at aws_port

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def state(self) -> Path:
        return self.state_dir or self.root / ".lepton"

    @property
    def artifacts(self) -> Path:
        return self.state / "artifacts"


def local_environment(settings: StackSettings) -> dict[str, str]:
    """What every local function and client sees: moto's endpoint, fake credentials, no X-Ray."""
    return {
        **LOCAL_CREDENTIALS,
        "AWS_ENDPOINT_URL": settings.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LEPTON_CACHE_DIR": str(settings.state / "cache"),
    }


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class LocalStack:
    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.template = Template(settings.root / "template.yaml")
        self.env = local_environment(settings)
        self.names: dict[str, str] = {}
        self.moto: Any = None
        self.host: FunctionHost | None = None
        self.aliases: LiveAliases | None = None
        self.worker: Any = None
        self.feed: DeploymentFeed | None = None
        self._clients: dict[str, Any] = {}
        self._saved_env: dict[str, str | None] = {}

    # -- AWS -----------------------------------------------------------------------------------
    def start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        if self.settings.external_aws:
            if not port_open(self.settings.host, self.settings.aws_port):
                raise SystemExit(f"nothing answers on {self.settings.endpoint}")
        elif port_open(self.settings.host, self.settings.aws_port):
            raise SystemExit(
                f"port {self.settings.aws_port} is already in use; stop what runs there or pass --aws-port"
            )
        else:
            self.moto = ThreadedMotoServer(ip_address=self.settings.host, port=self.settings.aws_port, verbose=False)
            self.moto.start()
        self._saved_env = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        _forget_clients()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.settings.endpoint,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
        return self._clients[service]

    def provision(self) -> None:
        """Create in moto what template.yaml declares, named as a deployed stack would be."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.settings.bucket)
        s3.put_bucket_versioning(Bucket=self.settings.bucket, VersioningConfiguration={"Status": "Enabled"})
        self.names["ModelBucket"] = self.settings.bucket
        functions = self.template.functions()
        for logical_id in functions:
            self.names[logical_id] = f"lepton-local-{logical_id}"
        model_functions = {spec.model_name: self.names[lid] for lid, spec in functions.items() if spec.model_name}
        deploy_env = self._provision_redeploy(model_functions)
        self.names.update(deploy_env.pop("_names", {}))
        # CloudFormation's !Ref of a queue is its URL.
        self.names["DeployQueue"] = self.names["DeployQueueUrl"]
        os.environ["LEPTON_DEPLOYMENTS_TABLE"] = deploy_env["LEPTON_DEPLOYMENTS_TABLE"]
        self.template = Template(self.settings.root / "template.yaml", names=self.names)
        role = self._role()
        for logical_id, spec in self.template.functions().items():
            env = {**spec.environment, **deploy_env}
            self.client("lambda").create_function(
                FunctionName=self.names[logical_id], Runtime="python3.12", Role=role, Handler=spec.handler,
                Code={"ZipFile": placeholder_zip()}, Environment={"Variables": env},
                MemorySize=spec.memory_mb, Timeout=spec.timeout_s,
            )
            version = self.client("lambda").publish_version(FunctionName=self.names[logical_id])["Version"]
            self.client("lambda").create_alias(FunctionName=self.names[logical_id], Name="live", FunctionVersion=version)
        self.host = FunctionHost(self.template, base_env={**self.env, **deploy_env},
                                 physical_names={lid: self.names[lid] for lid in functions})

    def _provision_redeploy(self, model_functions: dict[str, str]) -> dict[str, Any]:
        from .deploy_setup import provision

        return provision(self.client, self.settings.bucket, model_functions, template=self.template)

    def _role(self) -> str:
        iam = self.client("iam")
        policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        return iam.create_role(RoleName="lepton-local-function", AssumeRolePolicyDocument=policy)["Role"]["Arn"]

    # -- models ---------------------------------------------------------------------------------
    def model_names(self) -> list[str]:
        names = [s.model_name for s in self.template.functions().values() if s.model_name]
        return [n for n in names if self.settings.models is None or n in self.settings.models]

    def ensure_artifacts(self) -> dict[str, Path]:
        """Trained models for every model function, training (in a subprocess) what is missing."""
        found = {}
        for name in self.model_names():
            folder = self.settings.artifacts / name
            if not (folder / "manifest.json").is_file():
                if not self.settings.train_missing:
                    raise SystemExit(f"no trained '{name}' model in {folder}; run `lepton train {name}`")
                log.info("training %s (first start only; saved in %s)", name, folder)
                train_in_subprocess(name, self.settings.artifacts)
            found[name] = folder
        return found

    def publish_models(self, artifacts: dict[str, Path]) -> dict[str, int]:
        from lepton_training.publish import publish

        published = {}
        for name, folder in artifacts.items():
            published[name] = publish(folder, self.settings.bucket, s3_client=self.client("s3")).version
        return published

    def start_worker(self) -> None:
        from .worker import DeployWorker

        deployer = next((lid for lid, s in self.template.functions().items()
                         if s.handler.startswith("deployer.")), None)
        if deployer is None:
            return
        assert self.host is not None
        queue_url = self.names["DeployQueueUrl"]
        handler = self.host.base_handler(deployer)
        self.worker = DeployWorker(queue_url, handler, self.client("sqs"))
        self.worker.start()

    def wait_for_deployments(self, published: dict[str, int], timeout: float = 120.0) -> dict[str, str]:
        """Block until the deployer has decided on every published version; return what is live."""
        from lepton_serving import registry

        deadline = time.monotonic() + timeout
        pending = dict(published)
        while pending and time.monotonic() < deadline:
            for model, version in list(pending.items()):
                if any(a.version == version for a in registry.list_deployments(model, limit=5)):
                    del pending[model]
            time.sleep(0.1)
        if pending:
            log.warning("no deployment decision after %.0f s for %s", timeout, ", ".join(sorted(pending)))
        return {p.model: str(p.live.version) for p in registry.list_live()}

    def start_feed(self) -> None:
        self.feed = DeploymentFeed()
        self.feed.start()

    def attach(self) -> None:
        """Use a stack another process started (`make up`), without provisioning anything."""
        functions = self.template.functions()
        self.names = {"ModelBucket": self.settings.bucket, **{lid: f"lepton-local-{lid}" for lid in functions}}
        self.template = Template(self.settings.root / "template.yaml", names=self.names)
        self.host = FunctionHost(self.template, base_env=self.env,
                                 physical_names={lid: self.names[lid] for lid in functions})
        os.environ.update(self.env)
        _forget_clients()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """One call of a function with the configuration of the version its `live` alias names."""
        assert self.host is not None
        name = self.host.function_name(logical_id)
        alias = self.client("lambda").get_alias(FunctionName=name, Name="live")
        config = self.client("lambda").get_function_configuration(FunctionName=name, Qualifier=alias["FunctionVersion"])
        env = (config.get("Environment") or {}).get("Variables", {})
        return self.host.invoke(logical_id, event, env=env, version=alias["FunctionVersion"])

    # -- API ------------------------------------------------------------------------------------
    def gateway(self) -> LocalGateway:
        assert self.host is not None
        host = self.host
        functions = host.specs
        self.aliases = LiveAliases(self.client("lambda"),
                                   {lid: self.names[lid] for lid, s in functions.items() if s.model_name})
        self.aliases.start()
        aliases = self.aliases

        def dispatch(logical_id: str, event: dict[str, Any]) -> Any:
            picked = aliases.pick(logical_id)
            if picked is None:
                return host.invoke(logical_id, event)
            version, env = picked
            return host.invoke(logical_id, event, env=env, version=version)

        threaded = {lid for lid, spec in functions.items() if not spec.model_name}
        return LocalGateway(self.template.routes(), dispatch, authorize=sigv4_present, threaded=threaded)

    def api_server(self, gateway: LocalGateway) -> Any:
        """A uvicorn server for the gateway; `.run()` blocks, `.should_exit = True` stops it."""
        import uvicorn

        if port_open(self.settings.host, self.settings.api_port):
            raise SystemExit(f"port {self.settings.api_port} is already in use; pass --port")
        config = uvicorn.Config(asgi_app(gateway), host=self.settings.host, port=self.settings.api_port,
                                log_level="warning", access_log=False, lifespan="off")
        return uvicorn.Server(config)

    def stop(self) -> None:
        if self.aliases:
            self.aliases.stop()
        if self.worker:
            self.worker.stop()
        if self.feed:
            self.feed.stop()
        if self.moto:
            self.moto.stop()
        for key, value in self._saved_env.items():  # leave the process as we found it
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _forget_clients()


class DeploymentFeed:
    """Say each deployment decision in the terminal as it is recorded: promoted, rejected (why)."""

    def __init__(self, poll_seconds: float = 0.5):
        self.poll_seconds = poll_seconds
        self._seen: set[str] = set()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="lepton-feed", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        from lepton_serving import registry

        while not self._stop.wait(self.poll_seconds):
            try:
                attempts = registry.list_deployments(limit=20)
            except Exception:  # the table is gone while stopping
                continue
            for attempt in reversed(attempts):
                key = f"{attempt.model}/{attempt.created_at}/{attempt.outcome}"
                if key in self._seen:
                    continue
                self._seen.add(key)
                level = logging.INFO if attempt.outcome in ("promoted", "canary", "rolled_back") else logging.WARNING
                log.log(level, "deploy %s v%s: %s — %s", attempt.model, attempt.version, attempt.outcome,
                        attempt.reason)


def sigv4_present(route: Any, headers: dict[str, str]) -> str | None:
    """Routes with IAM auth need a SigV4-signed request, as API Gateway demands.

    The local gateway checks the signature's shape and the local access key; it does not
    recompute the signature (API Gateway does, in the cloud).
    """
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
        return "Missing Authentication Token: sign the request with SigV4 (IAM auth)"
    if not auth.split("Credential=", 1)[1].startswith(LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"] + "/"):
        return "The security token included in the request is invalid"
    return None


def train_in_subprocess(family: str, artifacts: Path) -> None:
    """Train into artifacts/<family>/. TensorFlow stays out of the serving process (3 s of
    imports and its own thread pools)."""
    code = ("import sys; from pathlib import Path; from lepton_training import train_family; "
            "train_family(sys.argv[1], Path(sys.argv[2]))")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([sys.executable, "-c", code, family, str(artifacts)], check=True, env=env)


def _forget_clients() -> None:
    """Clients the functions cached were made for the previous endpoint."""
    from lepton_serving import clients

    clients.reset()


def placeholder_zip() -> bytes:
    # moto stores code but cannot run it; the local stack runs the real handlers in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process in the Lepton local stack\n")
    return buffer.getvalue()


def redirect_function_output(path: Path) -> None:
    """Function logs and EMF metrics are JSON lines on stdout, as in Lambda: keep them in a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

