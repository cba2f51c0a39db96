"""`lepton replay`: the replay gate's comparison on demand, between a published version and the live one.

The same replay the deployer runs before an alias moves (lepton_deploy.replay): the live
version's newest captured requests, sent to the version's published function version through
its real handler, compared per task with the same thresholds. Nothing moves and nothing is
written; any published version can be asked, one that was refused included. It judges on
however many requests are captured, one or more, and says when that is fewer than the deployer
needs. The control function answers within API Gateway's 30 s, so a replay here stops after
``ON_DEMAND_SECONDS``, and says so.
"""
from __future__ import annotations

import time

from lepton_deploy.captures import CaptureStore
from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.invoke import Invoker
from lepton_deploy.registry import Registry
from lepton_deploy.replay import Replay, ReplaySettings
from lepton_serving.bucket import ModelBucket
from lepton_serving.errors import Conflict, ModelNotReady, NotFound
from lepton_serving.manifest import manifest_key

from control.schemas import ReplayOut, ReplayRequest
from control.settings import Settings

ON_DEMAND_SECONDS = 10.0
#: Disagreeing cases an answer carries (the deployer's file keeps up to 100).
CASES_SHOWN = 10


class ReplayUnavailable(ModelNotReady):
    """No capture bucket on this stack (503)."""


class Replays:
    def __init__(self, settings: Settings, registry: Registry, functions: LambdaFunctions, bucket: ModelBucket,
                 captures: CaptureStore | None, invoke: Invoker):
        self.settings = settings
        self.registry = registry
        self.functions = functions
        self.bucket = bucket
        self.captures = captures
        self.invoke = invoke

    def run(self, model: str, request: ReplayRequest) -> ReplayOut:
        function = self.settings.function_for(model)
        if function is None:
            raise NotFound(f"no model '{model}'; models: {', '.join(sorted(self.settings.functions))}")
        if self.captures is None:
            raise ReplayUnavailable("payload capture is not configured on this stack (LEPTON_CAPTURE_BUCKET)")
        pointer = self.registry.get_live(model)
        if pointer is None:
            raise Conflict(f"no version of '{model}' is live: there is no traffic to replay yet")
        qualifier = self._published(model, function, request.version, pointer)
        manifest = self.bucket.manifest(manifest_key(model, request.version))
        records = self.captures.latest(model, pointer.live.version, request.requests)
        settings = ReplaySettings(request.requests, 1, ON_DEMAND_SECONDS)
        replay = Replay(self.invoke, manifest, function, qualifier, settings)
        result = replay.judge(records, pointer.live.version, time.monotonic() + ON_DEMAND_SECONDS)
        reason = result.reason
        if 0 < len(records) < ReplaySettings().min_requests and result.outcome != "skipped":
            reason += (f"; note: the deployer judges on {ReplaySettings().min_requests} captured requests or more, "
                       "and would skip this replay")
        return ReplayOut(model=model, version=request.version, function_version=qualifier,
                         live_version=pointer.live.version, outcome=result.outcome, reason=reason,
                         figures=result.figures, cases=result.cases[:CASES_SHOWN])

    def _published(self, model: str, function: str, version: int, pointer) -> str:
        """The function version that carries ``version``: from the pointer, else Lambda's list."""
        release = pointer.release(version)
        if release is not None:
            return release.function_version
        found = [c.version for c in self.functions.versions(function) if c.pins.version == str(version)]
        if not found:
            raise NotFound(f"version {version} of '{model}' was never published to its function (the deployer "
                           "publishes a version once the gate accepts it); see lepton deployments")
        return found[-1]  # the newest publish of it
