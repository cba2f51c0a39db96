"""The local stack behind `make up`: AWS (a moto server) on :4566 and the HTTP API on :3000.

`boot` wires it from small pieces, each with one job, in the order they need each other: the local
AWS (local_aws.py); what template.yaml declares, created in it (provisioning.py); the capture
agent that delivers the model functions' capture records as Logs and Firehose would
(capture_agent.py); the template's functions, run in this process, with Lambda's Invoke API for
their published versions (function_host.py, lambda_api.py); the deploy worker (worker.py: SQS ->
the deployer); the scheduled functions (schedules.py: EventBridge's rate rules); the deployment
feed (feed.py); the trained models, published to the bucket through the real redeploy path
(artifacts.py); the functions' metrics in the local CloudWatch (emf_agent.py); the API
(local_api.py); and what follows template.yaml as it changes (template_follower.py). Requests are
served by the version the `live` alias names, so local and cloud behave the same.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lepton_deploy.functions import ALIAS, LambdaFunctions
from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import Registry
from lepton_serving.table import DeploymentsTable

from ..decisions import wait_for_decision
from .artifacts import publish_trained
from .capture_agent import CaptureAgent
from .emf import EmfForwarder
from .emf_agent import EmfAgent, forward_function_metrics
from .feed import POLL_SECONDS as FEED_POLL_SECONDS
from .feed import DeploymentFeed
from .function_host import FunctionHost
from .layer_mounts import LayerMounts
from .local_api import LocalApi
from .local_aws import LocalAws
from .provisioning import PREFIX, Provisioned, Provisioner
from .schedules import Schedules, jobs_of
from .stack_settings import StackSettings
from .template import Template
from .template_follower import TemplateFollower
from .worker import DeployWorker

log = logging.getLogger("lepton.local.stack")


@dataclass
class LocalStack:
    """The running pieces, wired; `boot` and `attach` build one, `stop` ends it."""

    settings: StackSettings
    aws: LocalAws
    host: FunctionHost
    registry: Registry
    follower: TemplateFollower
    captures: CaptureAgent | None = None
    worker: DeployWorker | None = None
    schedules: Schedules | None = None
    feed: DeploymentFeed | None = None
    emf: EmfAgent | EmfForwarder | None = None
    api: LocalApi | None = None
    live_at_start: dict[str, str] = field(default_factory=dict)  # model -> the version live once booted

    @property
    def template(self) -> Template:
        return self.follower.template

    @property
    def names(self) -> dict[str, str]:
        return self.follower.names

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """One call of a function with the configuration of the version its `live` alias names."""
        return live_invoker(self.host)(logical_id, event)

    def stop(self) -> None:
        for piece in (self.emf, self.follower, self.schedules, self.api, self.worker, self.feed, self.captures,
                      self.host, self.aws):  # the host: its versions' execution environments (processes)
            if piece is not None:
                piece.stop()


def boot(settings: StackSettings, *, feed: bool = False, models: bool = True, watch: bool = False,
         metrics: bool = False, api: bool = False) -> LocalStack:
    """Start the local AWS, provision the template in it, start the deploy worker and (with
    ``models``) publish the trained models and wait for the deployer's decisions. ``feed`` says
    each decision in the log, ``metrics`` forwards the functions' metrics, ``api`` makes the API
    (its server is the caller's to run: `stack.api.server().run()`), ``watch`` follows
    template.yaml's changes."""
    aws = LocalAws(settings.host, settings.aws_port, external=settings.external_aws)
    aws.start()
    running: list[Any] = [aws]
    try:
        provisioner = Provisioner(settings, aws)
        provisioned = provisioner.provision()
        captures = capture_agent(settings, aws)
        running.append(captures)
        host = function_host(settings, aws, provisioned, captures)
        running.append(host)
        if aws.server is not None:  # Invoke on the local AWS (aws CLI, moto's Step Functions tasks) runs them too
            aws.server.invocations = host.lambda_api
        registry = Registry(DeploymentsTable(aws.client("dynamodb"), provisioned.table))
        worker = deploy_worker(host, provisioned, aws)
        schedules = Schedules(jobs_of(host.specs, provisioned.template.text), live_invoker(host))  # the drift check
        decisions = DeploymentFeed(registry, aws.changes, every=aws.every(FEED_POLL_SECONDS)) if feed else None
        for piece in (worker, schedules, decisions):
            if piece is not None:
                running.append(piece)
                piece.start()
        served = [m for m in model_names(provisioned.template) if settings.serves(m)]
        live = wait_for_deployments(registry, publish_trained(served, settings, aws.client("s3"))) if models else {}
        emf = forward_function_metrics(aws) if metrics else None
        running.append(emf)
        local_api = LocalApi(settings, aws, host, provisioned.template, provisioned.names) if api else None
        running.append(local_api)
        follower = TemplateFollower(settings, provisioner, provisioned, host, local_api,
                                    lambda added: publish_trained(added, settings, aws.client("s3")))
        if watch:
            follower.start()
    except BaseException:
        for piece in reversed(running):
            if piece is not None:
                piece.stop()
        raise
    return LocalStack(settings, aws, host, registry, follower, captures, worker, schedules, decisions, emf,
                      local_api, live)


def attach(settings: StackSettings, *, captures: bool = False) -> LocalStack:
    """A stack another process started (`make up`), used without provisioning anything; with
    ``captures``, its calls' capture records go to that stack's capture bucket too."""
    aws = LocalAws(settings.host, settings.aws_port, external=True)
    aws.activate()
    provisioner = Provisioner(settings, aws)
    provisioned = provisioner.attached()
    agent = capture_agent(settings, aws) if captures else None
    host = function_host(settings, aws, provisioned, agent)
    registry = Registry(DeploymentsTable(aws.client("dynamodb"), provisioned.table))
    return LocalStack(settings, aws, host, registry,
                      TemplateFollower(settings, provisioner, provisioned, host, None, lambda added: None), agent)


def capture_agent(settings: StackSettings, aws: LocalAws) -> CaptureAgent:
    """What Lambda, CloudWatch Logs and Firehose do with the model functions' capture records, in
    a process of its own: they land in the local S3 under captures/."""
    agent = CaptureAgent(aws.endpoint, settings.root, PREFIX)
    agent.start()
    return agent


def function_host(settings: StackSettings, aws: LocalAws, provisioned: Provisioned,
                  captures: CaptureAgent | None) -> FunctionHost:
    """The template's functions in this process, each published version with its layers mounted,
    and Lambda's Invoke API for those versions (lambda_api.py)."""
    functions = LambdaFunctions(aws.client("lambda"))
    mounts = LayerMounts(functions, aws.client("s3"), settings.state / "layers")
    return FunctionHost(provisioned.template,
                        base_env={**aws.environment(), "LEPTON_CACHE_DIR": str(settings.state / "cache"),
                                  **provisioned.environment},
                        physical_names=provisioned.function_names(), functions=functions, mounts=mounts.environment,
                        capture_output=None if captures is None else captures.feed)


def live_invoker(host: FunctionHost) -> Callable[[str, dict[str, Any]], Any]:
    """Calls of a function (by logical id) with the configuration of the version its `live`
    alias names, as EventBridge and `lepton invoke` call it."""
    def invoke(logical_id: str, event: dict[str, Any]) -> Any:
        assert host.lambda_api is not None
        _, answer = host.lambda_api.run(host.function_name(logical_id), ALIAS, event)
        return answer

    return invoke


def deploy_worker(host: FunctionHost, provisioned: Provisioned, aws: LocalAws) -> DeployWorker | None:
    """Lambda's SQS event source for the deployer, as the template declares it (None: no deployer)."""
    deployer = next((lid for lid, s in host.specs.items() if s.handler.startswith("deployer.")), None)
    if deployer is None:
        return None
    spec = host.specs[deployer]
    sources = [e.get("Properties", {}) for e in spec.properties.get("Events", {}).values() if e.get("Type") == "SQS"]

    def deployer_handler(event: dict[str, Any], context: Any) -> Any:
        return host.handler(deployer)(event, context)  # the host's on every batch: a template change reconfigures it

    return DeployWorker(provisioned.names["DeployQueueUrl"], deployer_handler, aws.client("sqs"),
                        batch_size=int(sources[0].get("BatchSize", 10)) if sources else 10,
                        memory_mb=spec.memory_mb, timeout_s=spec.timeout_s)


def model_names(template: Template) -> list[str]:
    return [spec.model_name for spec in template.functions().values() if spec.model_name]


def wait_for_deployments(registry: Registry, published: dict[str, int], timeout: float = 120.0) -> dict[str, str]:
    """Block until the deployer has decided on every published version (a failure, too: the feed
    says why); return what is live, model -> version."""
    deadline = time.monotonic() + timeout
    pending = []
    for model, version in published.items():
        if wait_for_decision(lambda m=model: registry.list_deployments(m, limit=5), version=version,
                             outcomes=set(Outcome), timeout=max(0.0, deadline - time.monotonic()), every=0.1) is None:
            pending.append(model)
    if pending:
        log.warning("no deployment decision after %.0f s for %s", timeout, ", ".join(sorted(pending)))
    return {p.model: str(p.live.version) for p in registry.list_live()}
