"""Moving a model function's ``live`` alias: promote, canary, promote the canary, roll back.

Imports neither onnx nor onnxruntime: the deployer, the control API and the CLI all use it.

Concurrency. Two writers must never both win. Every move runs under the model's lease (a
conditional DynamoDB put, see Registry.acquire_lease) and re-reads the live pointer inside it,
so a move decided on stale facts is refused. Each AWS write also carries the RevisionId it
read (functions.py): real Lambda then refuses a write that raced a change made outside the
deployer. The pointer itself is a compare-and-set on its generation. Order: alias first,
pointer second, so a crash in between leaves the pointer behind and the retried upload redoes
the move (never the reverse, which would make the retry think the version is already live).

``$LATEST`` is only a staging area: the model key (and, when it fits, the model's own layer,
model_layer.py) is set there, a version is published from it, and only published versions
behind the alias ever serve traffic. Each published version pins code, configuration and
model together, so every move here is one alias move.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .clock import iso
from .errors import AliasConflict, DeploymentBusy, FunctionUpdateFailed, NothingToDo, PointerConflict, Superseded
from lepton_serving.pins import ModelPins

from .functions import ALIAS, AliasState, FunctionConfig, LambdaFunctions, UpdateWaiter
from .model_layer import Collected, ModelFiles, ModelLayers, Placement
from .outcomes import Outcome
from .registry import HISTORY_LIMIT, Attempt, Canary, LivePointer, Registry, Release

LEASE_SECONDS = 300


@dataclass(frozen=True)
class Candidate:
    """A validated model version, ready to become a function version."""

    model: str
    version: int
    bucket: str
    model_key: str
    sha256: str
    manifest_sha256: str = ""
    files: ModelFiles | None = field(default=None, repr=False, compare=False)  # the validated bytes

    @property
    def pins(self) -> ModelPins:
        return ModelPins(self.bucket, self.model_key, self.sha256, str(self.version), self.manifest_sha256)

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """The function's environment pinned to this version (and its validated manifest)."""
        return self.pins.written_over(base)


@dataclass(frozen=True)
class Move:
    """What a promotion did."""

    outcome: Outcome  # promoted | canary
    release: Release
    previous: Release | None
    weight: float = 0.0
    placement: Placement | None = None  # where the new version's model comes from
    collected: Collected | None = None  # the model's layer versions no function version uses, deleted


class Rollout:
    def __init__(self, registry: Registry, functions: LambdaFunctions, wait: UpdateWaiter | None = None,
                 lease_seconds: int = LEASE_SECONDS, layers: ModelLayers | None = None):
        """``wait``: how to wait for a configuration update (default: Lambda's own waiter);
        ``layers``: how a promoted version's model travels with it (None: the function's layers
        are left alone and cold starts fetch the model from S3)."""
        self.registry = registry
        self.functions = functions
        self.wait = wait or functions.wait_updated
        self.lease_seconds = lease_seconds
        self.layers = layers

    # -- lease ---------------------------------------------------------------------------------
    @contextmanager
    def lease(self, model: str, purpose: str) -> Iterator[str]:
        owner = f"{purpose}:{uuid.uuid4().hex[:12]}"
        if self.registry.acquire_lease(model, owner, purpose, self.lease_seconds) is None:
            holder = self.registry.lease_holder(model) or {}
            raise DeploymentBusy(
                f"another deployment of '{model}' is in progress ({holder.get('purpose', 'unknown')}, "
                f"since {holder.get('acquired_at', '?')}); retry when it finishes"
            )
        try:
            yield owner
        finally:
            self.registry.release_lease(model, owner)

    # -- promote -------------------------------------------------------------------------------
    def promote(self, candidate: Candidate, function: FunctionConfig, *, canary_weight: float = 0.0,
                bake_seconds: int = 300, verify: Callable[[str], dict[str, Any] | None] | None = None) -> Move:
        """Publish ``candidate`` as a new version of ``function`` (its $LATEST configuration, as
        read for this upload) and move the alias to it. ``verify`` (function version -> the
        version's receipt, or None; or raise) runs on the published version before the alias
        moves; the receipt is kept with the release in the live pointer.

        With ``canary_weight`` in (0, 1) and a version already live, the alias keeps the live
        version and sends that share of requests to the new one; `promote_canary` finishes it.
        """
        with self.lease(candidate.model, f"promote v{candidate.version}"):
            pointer = self.registry.get_live(candidate.model)
            if pointer and candidate.version <= pointer.newest_version:
                in_canary = pointer.canary and pointer.canary.release.version == pointer.newest_version
                raise Superseded(
                    f"version {candidate.version} is not newer than version {pointer.newest_version}, which is "
                    f"{'in canary' if in_canary else 'live'}; uploads only move forward, use rollback to go back"
                )
            placement = self._place(candidate, function)
            function_version = self._publish(function, candidate, placement)
            # pre-traffic: the published version answers (and is measured) before any traffic moves
            receipt = verify(function_version) if verify is not None else None
            release = Release(candidate.version, function_version, candidate.bucket, candidate.model_key,
                              candidate.sha256, candidate.manifest_sha256, placement.source, receipt or {})
            alias = self.functions.alias(function.name)
            canary = pointer is not None and 0.0 < canary_weight < 1.0
            if canary:
                assert pointer is not None
                alias = self.functions.move_alias(alias, alias.version, {function_version: round(canary_weight, 4)})
                started = datetime.now(UTC)
                new_pointer = replace(pointer, canary=Canary(
                    release, canary_weight, iso(started), iso(started + timedelta(seconds=bake_seconds))))
            else:
                alias = self.functions.move_alias(alias, function_version)
                history = _history(pointer.live, pointer.history, release) if pointer else ()
                new_pointer = LivePointer(candidate.model, function.name, release, None, history)
            self._write_pointer(new_pointer, pointer, alias)
            # After the move: every version that serves or can be rolled back to keeps its layer.
            collected = self.layers.collect(function.name, candidate.model) if self.layers else None
            return Move(Outcome.CANARY if canary else Outcome.PROMOTED, release, pointer.live if pointer else None,
                        canary_weight if canary else 0.0, placement, collected)

    def promote_canary(self, model: str, expected_version: int | None = None, *, actor: str = "canary",
                       reason: str = "") -> Attempt:
        """Send all traffic to the model's canary version; the previous one stays addressable."""
        with self.lease(model, "promote canary"):
            pointer = self._require_pointer(model)
            canary = pointer.canary
            if canary is None:
                raise NothingToDo(f"no canary of '{model}' is running; version {pointer.live.version} is live")
            if expected_version is not None and canary.release.version != expected_version:
                raise NothingToDo(f"the canary of '{model}' is now version {canary.release.version}, "
                                  f"not {expected_version}; that canary has its own check")
            fn = pointer.function_name
            alias = self.functions.alias(fn)
            if not alias.routes_to(canary.release.function_version):
                self.registry.put_live(replace(pointer, canary=None), pointer.generation)
                raise AliasConflict(
                    f"the '{ALIAS}' alias of {fn} no longer routes to the canary (function version "
                    f"{canary.release.function_version}); was the stack redeployed? The canary was dropped"
                )
            alias = self.functions.move_alias(alias, canary.release.function_version)
            promoted = LivePointer(model, fn, canary.release, None,
                                   _history(pointer.live, pointer.history, canary.release))
            self._write_pointer(promoted, pointer, alias)
            return self.registry.record_attempt(Attempt(
                model, canary.release.version, Outcome.PROMOTED,
                reason or f"canary promoted to 100% (was {canary.weight:.0%} since {canary.started_at}); "
                          f"version {pointer.live.version} stays published as function version "
                          f"{pointer.live.function_version}",
                function_name=fn, function_version=canary.release.function_version, actor=actor,
                model_source=canary.release.model_source))

    def rollback(self, model: str, version: int | None = None, *, actor: str = "cli", reason: str = "") -> Attempt:
        """Move the alias back at once: to ``version``, or (None) the previously live version.

        During a canary, rolling back without a version (or to the live one) cancels the canary.
        """
        with self.lease(model, "rollback"):
            pointer = self._require_pointer(model)
            if pointer.canary and (version is None or version == pointer.live.version):
                return self._cancel_canary(pointer, reason, actor)
            fn, current = pointer.function_name, pointer.live
            target = self._rollback_target(pointer, version)
            alias = self.functions.move_alias(self.functions.alias(fn), target.function_version)
            self._write_pointer(LivePointer(model, fn, target, None, _history(current, pointer.history, target)),
                                pointer, alias)
            why = f"rolled back from version {current.version} to {target.version}"
            return self.registry.record_attempt(Attempt(
                model, target.version, Outcome.ROLLED_BACK, f"{why}; {reason}" if reason else why,
                function_name=fn, function_version=target.function_version, actor=actor,
                model_source=target.model_source))

    def abort_canary(self, model: str, reason: str, expected_version: int | None = None, *,
                     actor: str = "canary") -> Attempt:
        """Send all traffic back to the stable version (a failed canary check)."""
        with self.lease(model, "abort canary"):
            pointer = self._require_pointer(model)
            if pointer.canary is None:
                raise NothingToDo(f"no canary of '{model}' is running; version {pointer.live.version} is live")
            if expected_version is not None and pointer.canary.release.version != expected_version:
                raise NothingToDo(f"the canary of '{model}' is now version {pointer.canary.release.version}, "
                                  f"not {expected_version}")
            return self._cancel_canary(pointer, reason, actor)

    # -- steps -------------------------------------------------------------------------------------
    def _cancel_canary(self, pointer: LivePointer, reason: str, actor: str) -> Attempt:
        assert pointer.canary is not None
        fn, canary = pointer.function_name, pointer.canary.release
        alias = self.functions.move_alias(self.functions.alias(fn), pointer.live.function_version)
        self._write_pointer(replace(pointer, canary=None), pointer, alias)
        why = f"canary of version {canary.version} cancelled; version {pointer.live.version} serves all traffic"
        return self.registry.record_attempt(Attempt(
            pointer.model, canary.version, Outcome.ROLLED_BACK, f"{why}; {reason}" if reason else why,
            function_name=fn, function_version=canary.function_version, actor=actor))

    def _place(self, c: Candidate, function: FunctionConfig) -> Placement:
        if self.layers is None:
            return Placement("s3", function.layers, reason="this rollout publishes no model layers")
        return self.layers.place(c.model, c.version, c.sha256, c.files, function)

    def _publish(self, function: FunctionConfig, c: Candidate, placement: Placement) -> str:
        # One update: the pins and the layer that holds what they pin never disagree.
        layers = placement.layers if placement.layers != function.layers else None
        self.functions.set_environment(function, c.environment(function.environment), layers)
        self.wait(function.name)
        staged = self.functions.config(function.name)
        if staged.update_status == "Failed":
            raise FunctionUpdateFailed(f"Lambda could not update {function.name}: "
                                       f"{staged.update_reason or 'no reason given'}")
        if staged.pins.sha256 != c.sha256 or staged.layers != placement.layers:
            raise AliasConflict(f"{function.name}'s configuration was changed by someone else before it was published")
        published = self.functions.publish(staged, f"{c.model} v{c.version} sha256 {c.sha256[:12]}")
        # Publishing unchanged code and configuration returns the existing version: check it is ours.
        if not published.serves(c.version, c.sha256):
            raise AliasConflict(f"published version {published.version} of {function.name} does not carry "
                                f"{c.model} v{c.version}; nothing was moved")
        return published.version

    def _write_pointer(self, new: LivePointer, old: LivePointer | None, alias: AliasState) -> None:
        new = replace(new, alias_revision=alias.revision)
        try:
            self.registry.put_live(new, old.generation if old else None)
        except PointerConflict as exc:
            # Impossible under the lease unless it expired mid-move; the alias moved, say so loudly.
            raise AliasConflict(f"{exc.message}; the alias now serves function version "
                                f"{alias.version}; check `lepton deployments`") from exc

    def _rollback_target(self, pointer: LivePointer, version: int | None) -> Release:
        current = pointer.live
        if version is None:
            earlier = [r for r in pointer.history if r.version < current.version]
            if not earlier:
                raise NothingToDo(f"no version of '{pointer.model}' older than {current.version} has been live")
            return max(earlier, key=lambda r: r.version)
        if version == current.version:
            raise NothingToDo(f"version {version} of '{pointer.model}' is already live")
        release = pointer.release(version) or self._find_published(pointer, version)
        if release is None:
            raise NothingToDo(f"version {version} of '{pointer.model}' was never published to {pointer.function_name}")
        return release

    def _find_published(self, pointer: LivePointer, version: int) -> Release | None:
        """A version that fell out of the pointer's history: look for its published function version."""
        found: Release | None = None
        for published in self.functions.versions(pointer.function_name):
            pins = published.pins
            if pins.version == str(version) and pins.key:
                found = Release(version, published.version, pins.bucket or pointer.live.bucket, pins.key,
                                pins.sha256, pins.manifest_sha256)  # keep the newest publish
        return found

    def _require_pointer(self, model: str) -> LivePointer:
        pointer = self.registry.get_live(model)
        if pointer is None:
            raise NothingToDo(f"no version of '{model}' has been deployed yet")
        return pointer


def _history(old_live: Release, history: tuple[Release, ...], new_live: Release) -> tuple[Release, ...]:
    kept = [r for r in (old_live, *history) if r.version != new_live.version]
    seen: set[int] = set()
    unique = [r for r in kept if not (r.version in seen or seen.add(r.version))]
    return tuple(unique[:HISTORY_LIMIT])
