"""The local stack behind `make up`: AWS (moto server) on :4566 and the HTTP API on :3000.

`boot` starts it, piece by piece, each piece its own small class: the local AWS
(local_aws.py), what template.yaml declares provisioned in it (`provision`: bucket, table,
queues, one Lambda function per template function with a `live` alias), the deploy worker
(worker.py: SQS -> deployer), the functions run in-process (functions.py), the trained models
published to the bucket (artifacts.py) so the real redeploy path promotes them, the deployment
feed (feed.py) and the API (gateway.py, aliases.py, and authorizers.py: sigv4.py for IAM,
jwt_authorizer.py against the local issuer.py for JWT). Requests are served by the version the
alias names, so local and cloud behave the same.
"""
from __future__ import annotations

import io
import logging
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_deploy.functions import ALIAS, LambdaFunctions
from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import Registry
from lepton_serving.table import DeploymentsTable

from ..decisions import wait_for_decision
from .aliases import POLL_SECONDS, LiveAliases
from .artifacts import ensure_artifacts, publish_models
from .authorizers import LocalAuthorizers
from .emf import EmfForwarder, EmfTee
from .emf_agent import EmfAgent
from .feed import POLL_SECONDS as FEED_POLL_SECONDS
from .feed import DeploymentFeed
from .function_log import BACKUPS, MAX_BYTES, FunctionLog
from .function_host import FunctionHost
from .gateway import LocalGateway, asgi_app
from .lambda_api import LocalLambda
from .layer_mounts import LayerMounts
from .issuer import LOCAL_AUDIENCE, LocalIssuer
from .capture_agent import CaptureAgent
from .capture_setup import capture_bucket_name, provision_captures
from .local_aws import REGION, LocalAws, port_open
from .schedules import Schedules, jobs_of
from .template import FunctionSpec, Template
from .template_watch import TemplateWatch
from .worker import DeployWorker

log = logging.getLogger("lepton.local.stack")

PREFIX = "lepton-local"
#: Template parameters the local stack always sets: every version is promoted at once.
LOCAL_PARAMETERS = {"CanaryWeight": "0"}
ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
               '"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


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
    inference_auth: str | None = None  # the template's InferenceAuth: NONE, IAM or JWT (default: its default)
    overrides: dict[str, str] = field(default_factory=dict)  # other template parameters, as sam deploy takes them
    log_max_bytes: int = MAX_BYTES  # functions.log is rotated at this size ...
    log_backups: int = BACKUPS  # ... keeping this many older files
    #: The template's CaptureSampleRate: every request by default, so the replay gate has traffic
    #: to judge on a fresh machine (None: the template's default, as `sam deploy` sets it).
    capture_sample_rate: float | None = 1.0

    @property
    def state(self) -> Path:
        return self.state_dir or self.root / ".lepton"

    @property
    def issuer(self) -> LocalIssuer:
        """The stack's own token issuer: with InferenceAuth=JWT, the one JwtIssuer names."""
        return LocalIssuer(self.state / "issuer")

    @property
    def parameters(self) -> dict[str, str]:
        """Template parameter overrides, as `sam deploy --parameter-overrides` would give them.
        Locally every version that passes its checks is promoted at once: one person's requests
        are too few to judge a canary on."""
        capture = {} if self.capture_sample_rate is None else {"CaptureSampleRate": f"{self.capture_sample_rate:g}"}
        if not self.inference_auth:
            return {**LOCAL_PARAMETERS, **capture, **self.overrides}
        mode = self.inference_auth.upper()
        local_jwt = {"JwtIssuer": self.issuer.issuer, "JwtAudience": LOCAL_AUDIENCE} if mode == "JWT" else {}
        return {**LOCAL_PARAMETERS, "InferenceAuth": mode, **local_jwt, **capture, **self.overrides}

    @property
    def artifacts(self) -> Path:
        return self.state / "artifacts"


@dataclass
class LocalStack:
    """The running pieces; `boot` and `attach` build one, `stop` ends it."""

    settings: StackSettings
    aws: LocalAws
    template: Template
    host: FunctionHost
    names: dict[str, str]
    registry: Registry
    worker: DeployWorker | None = None
    feed: DeploymentFeed | None = None
    aliases: LiveAliases | None = None
    emf: EmfForwarder | EmfAgent | None = None
    live_at_start: dict[str, str] = field(default_factory=dict)
    role_arn: str = ""  # the functions' role in the local AWS, for functions the template gains later
    deploy_env: dict[str, str] = field(default_factory=dict)
    api: LocalGateway | None = None
    watch: TemplateWatch | None = None
    logs: CaptureAgent | None = None
    schedules: Schedules | None = None

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def model_names(self) -> list[str]:
        names = [s.model_name for s in self.template.functions().values() if s.model_name]
        return [n for n in names if self.settings.models is None or n in self.settings.models]

    def publish_artifacts(self) -> dict[str, int]:
        """Trained models for every model function (training what is missing), published."""
        found = ensure_artifacts(self.model_names(), self.settings.artifacts, self.settings.train_missing)
        return publish_models(found, self.settings.bucket, self.client("s3"))

    def start_worker(self) -> None:
        deployer = self._deployer()
        if deployer is not None:
            spec = self.host.specs[deployer]
            sources = [e.get("Properties", {}) for e in spec.properties.get("Events", {}).values() if e.get("Type") == "SQS"]
            self.worker = DeployWorker(self.names["DeployQueueUrl"], self.host.handler(deployer), self.client("sqs"),
                                       batch_size=int(sources[0].get("BatchSize", 10)) if sources else 10,
                                       memory_mb=spec.memory_mb, timeout_s=spec.timeout_s)
            self.worker.start()

    def start_schedules(self) -> None:
        """Run each function with a Schedule event at its rate (the drift function), as EventBridge does."""
        self.schedules = Schedules(jobs_of(self.host.specs, self.template.text), self.invoke)
        self.schedules.start()

    def _deployer(self) -> str | None:
        return next((lid for lid, s in self.host.specs.items() if s.handler.startswith("deployer.")), None)

    def reload(self) -> dict[str, list[str]]:
        """Serve what template.yaml declares now, as `sam deploy` would update the stack: a new
        function gets its function and `live` alias in the local AWS (and, for a model, its
        artifact is published through the normal upload path); a removed one stops being served;
        a changed one (the deployer learning a model) is configured again."""
        path = self.settings.root / "template.yaml"
        fresh = Template(path, parameters=self.settings.parameters).functions()
        added = [lid for lid in fresh if lid not in self.host.specs]
        removed = [lid for lid in self.host.specs if lid not in fresh]
        names = {k: v for k, v in self.names.items() if k not in removed}
        names.update({lid: f"{PREFIX}-{lid}" for lid in added})
        template = Template(path, names=names, parameters=self.settings.parameters)
        specs = template.functions()
        lam = self.client("lambda")
        for logical_id in added:
            create_function(lam, self.role_arn, names[logical_id], specs[logical_id], self.deploy_env)
        if added:  # a new model function's log group, capture stream and subscription filter
            account = self.role_arn.split(":")[4] if self.role_arn.count(":") >= 4 else ""
            names.update(provision_captures(self.client, template, {lid: names[lid] for lid in added}, PREFIX,
                                            account, REGION))
        gone = {lid: self.names[lid] for lid in removed}
        self.names, self.template = names, template
        changed = self.host.update(template, {lid: names[lid] for lid in specs})
        deployer = self._deployer()
        if self.worker is not None and deployer is not None:
            self.worker.handler = self.host.handler(deployer)
        if self.aliases is not None:
            self.aliases.track({lid: names[lid] for lid, spec in specs.items() if spec.model_name})
        if self.api is not None:
            self.api.set_routes(template.routes(), _threaded(specs))
        for name in gone.values():  # after nothing routes to them or follows their alias
            lam.delete_function(FunctionName=name)
        models = [specs[lid].model_name for lid in added if specs[lid].model_name in self.model_names()]
        if models:
            found = ensure_artifacts(models, self.settings.artifacts, self.settings.train_missing)
            publish_models(found, self.settings.bucket, self.client("s3"))
        if added or removed:
            log.info("template.yaml changed: %s", "; ".join(
                [f"serving {', '.join(added)}"] * bool(added) + [f"no longer serving {', '.join(removed)}"] * bool(removed)))
        return {"added": added, "removed": removed, "changed": sorted(changed)}

    def watch_template(self) -> None:
        self.watch = TemplateWatch(self.settings.root / "template.yaml", self.reload)
        self.watch.start()

    def wait_for_deployments(self, published: dict[str, int], timeout: float = 120.0) -> dict[str, str]:
        """Block until the deployer has decided on every published version (a failure, too: the
        feed says why); return what is live."""
        deadline = time.monotonic() + timeout
        pending = []
        for model, version in published.items():
            if wait_for_decision(lambda m=model: self.registry.list_deployments(m, limit=5), version=version,
                                 outcomes=set(Outcome), timeout=max(0.0, deadline - time.monotonic()),
                                 every=0.1) is None:
                pending.append(model)
        if pending:
            log.warning("no deployment decision after %.0f s for %s", timeout, ", ".join(sorted(pending)))
        return {p.model: str(p.live.version) for p in self.registry.list_live()}

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """One call of a function with the configuration of the version its `live` alias names."""
        functions = LambdaFunctions(self.client("lambda"))
        name = self.host.function_name(logical_id)
        version = functions.alias(name).version
        return self.host.invoke(logical_id, event, env=functions.config(name, version).environment, version=version)

    # -- API ------------------------------------------------------------------------------------
    def gateway(self) -> LocalGateway:
        host = self.host
        functions = host.specs
        self.aliases = LiveAliases(LambdaFunctions(self.client("lambda")),
                                   {lid: self.names[lid] for lid, s in functions.items() if s.model_name},
                                   changes=self.aws.changes, every=self.aws.every(POLL_SECONDS))
        self.aliases.start()
        aliases = self.aliases

        def dispatch(logical_id: str, event: dict[str, Any]) -> Any:
            picked = aliases.pick(logical_id)
            if picked is None:
                return host.invoke(logical_id, event)
            version, env = picked
            return host.invoke(logical_id, event, env=env, version=version)

        authorize = LocalAuthorizers(REGION, self.template.jwt_authorizers(), jwks=self.settings.issuer.jwks)
        self.api = LocalGateway(self.template.routes(), dispatch, authorize=authorize, threaded=_threaded(functions))
        return self.api

    def api_server(self, gateway: LocalGateway) -> Any:
        """A uvicorn server for the gateway; `.run()` blocks, `.should_exit = True` stops it."""
        import uvicorn

        if port_open(self.settings.host, self.settings.api_port):
            raise SystemExit(f"port {self.settings.api_port} is already in use; pass --port")
        config = uvicorn.Config(asgi_app(gateway), host=self.settings.host, port=self.settings.api_port,
                                log_level="warning", access_log=False, lifespan="off")
        return uvicorn.Server(config)

    def forward_metrics(self) -> None:
        """Do what Lambda and CloudWatch do with the functions' EMF lines: this process's stdout
        (the functions' log) is teed into the local CloudWatch, where the canary check reads them."""
        if isinstance(sys.stdout, FunctionLog):  # `lepton up`: the agent parses them in its own process
            self.emf = EmfAgent(self.aws.endpoint)
            self.emf.start()
            sys.stdout.forward_to(self.emf.feed)
        else:
            self.emf = EmfForwarder(self.client("cloudwatch"))
            self.emf.start()
            sys.stdout = EmfTee(sys.stdout, self.emf)

    def deliver_captures(self) -> None:
        """Do what Lambda, CloudWatch Logs and Firehose do with the functions' capture records, in
        a process of their own (capture_agent.py): they land in the local S3 under captures/."""
        self.logs = CaptureAgent(self.aws.endpoint, self.settings.root, PREFIX)
        self.logs.start()
        self.host.capture_output = self.logs.feed

    def stop(self) -> None:
        if self.emf is not None:
            self.emf.stop()
        for piece in (self.watch, self.schedules, self.aliases, self.worker, self.feed, self.logs, self.aws):
            if piece is not None:
                piece.stop()
        if self.host.lambda_api is not None:
            self.host.lambda_api.close()  # the versions' execution environments (processes)


def boot(settings: StackSettings, *, feed: bool = False, models: bool = True, watch: bool = False) -> LocalStack:
    """Start the local AWS, provision the template in it, start the deploy worker and (with
    ``models``) publish the trained models and wait for the deployer's decisions; with
    ``watch``, follow template.yaml's changes (`stack.reload`). The API is the caller's to
    serve: `stack.api_server(stack.gateway())`."""
    aws = LocalAws(settings.host, settings.aws_port, external=settings.external_aws)
    aws.start()
    try:
        stack = provision(settings, aws)
        stack.deliver_captures()
        stack.start_worker()
        stack.start_schedules()
        if feed:
            stack.feed = DeploymentFeed(stack.registry, aws.changes, every=aws.every(FEED_POLL_SECONDS))
            stack.feed.start()
        if models:
            stack.live_at_start = stack.wait_for_deployments(stack.publish_artifacts())
        if watch:
            stack.watch_template()
    except BaseException:
        aws.stop()
        raise
    return stack


def attach(settings: StackSettings) -> LocalStack:
    """A stack another process started (`make up`), used without provisioning anything."""
    aws = LocalAws(settings.host, settings.aws_port, external=True)
    aws.activate()
    template = Template(settings.root / "template.yaml", parameters=settings.parameters)
    functions = template.functions()
    names = {"ModelBucket": settings.bucket, "CaptureBucket": capture_bucket_name(PREFIX),
             **{lid: f"{PREFIX}-{lid}" for lid in functions}}
    template = Template(settings.root / "template.yaml", names=names, parameters=settings.parameters)
    host = FunctionHost(template, base_env=_function_env(aws, settings),
                        physical_names={lid: names[lid] for lid in functions})
    host.lambda_api = LocalLambda(host, LambdaFunctions(aws.client("lambda")))
    host.mounts = LayerMounts(host.lambda_api.functions, aws.client("s3"), settings.state / "layers").environment
    registry = Registry(DeploymentsTable(aws.client("dynamodb"), f"{PREFIX}-deployments"))
    return LocalStack(settings, aws, template, host, names, registry)


def provision(settings: StackSettings, aws: LocalAws) -> LocalStack:
    """Create in the local AWS what template.yaml declares, named as a deployed stack would be."""
    from .deploy_setup import provision as provision_redeploy
    from .step_functions import provision as provision_batch

    template = Template(settings.root / "template.yaml", parameters=settings.parameters)
    functions = template.functions()
    names = {"ModelBucket": settings.bucket, **{lid: f"{PREFIX}-{lid}" for lid in functions}}
    model_functions = {spec.model_name: names[lid] for lid, spec in functions.items() if spec.model_name}
    deploy_env = provision_redeploy(aws.client, settings.bucket, model_functions, template=template, prefix=PREFIX)
    names.update(deploy_env.pop("_names", {}))
    names["DeployQueue"] = names["DeployQueueUrl"]  # CloudFormation's !Ref of a queue is its URL
    batch = provision_batch(aws.client, template, PREFIX)  # LEPTON_BATCH_UNAVAILABLE if moto cannot run it
    names.update(batch.pop("_names"))
    deploy_env.update(batch)
    template = Template(settings.root / "template.yaml", names=names, parameters=settings.parameters)
    lam = aws.client("lambda")
    role = aws.client("iam").create_role(RoleName=f"{PREFIX}-function", AssumeRolePolicyDocument=ROLE_POLICY)
    for logical_id, spec in template.functions().items():
        create_function(lam, role["Role"]["Arn"], names[logical_id], spec, deploy_env)
    host = FunctionHost(template, base_env={**_function_env(aws, settings), **deploy_env},
                        physical_names={lid: names[lid] for lid in functions})
    host.lambda_api = LocalLambda(host, LambdaFunctions(lam))  # the deployer's calls of published versions
    host.mounts = LayerMounts(host.lambda_api.functions, aws.client("s3"), settings.state / "layers").environment
    if aws.server is not None:  # Invoke on the local AWS (aws CLI, moto's Step Functions tasks) runs them too
        aws.server.invocations = host.lambda_api
    registry = Registry(DeploymentsTable(aws.client("dynamodb"), deploy_env["LEPTON_DEPLOYMENTS_TABLE"]))
    return LocalStack(settings, aws, template, host, names, registry, role_arn=role["Role"]["Arn"],
                      deploy_env=deploy_env)


def create_function(lam: Any, role_arn: str, name: str, spec: FunctionSpec, deploy_env: dict[str, str]) -> None:
    """One template function in the local AWS, with version 1 and its `live` alias, as SAM makes it."""
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler=spec.handler,
                        Code={"ZipFile": placeholder_zip()}, Environment={"Variables": {**spec.environment, **deploy_env}},
                        MemorySize=spec.memory_mb, Timeout=spec.timeout_s, Architectures=list(spec.architectures))
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)


def _threaded(functions: dict[str, FunctionSpec]) -> set[str]:
    """Functions the API calls off its event loop: all but the model functions (see LocalGateway)."""
    return {lid for lid, spec in functions.items() if not spec.model_name}


def _function_env(aws: LocalAws, settings: StackSettings) -> dict[str, str]:
    return {**aws.environment(), "LEPTON_CACHE_DIR": str(settings.state / "cache")}


def placeholder_zip() -> bytes:
    # moto stores code but cannot run it; the local stack runs the real handlers in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process in the Lepton local stack\n")
    return buffer.getvalue()


def redirect_function_output(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> FunctionLog:
    """Function logs and EMF metrics are JSON lines on stdout, as in Lambda: keep them in a
    rotated file (function_log.py)."""
    sys.stdout = FunctionLog(path, max_bytes=max_bytes, backups=backups)
    return sys.stdout
