"""Moving a model function's ``live`` alias: promote, canary, promote the canary, roll back.

Imports neither onnx nor onnxruntime: the deployer, the control API and the CLI all call this.

Concurrency. Two writers must never both win. Every move runs under the model's lease (a
conditional DynamoDB put, see registry.acquire_lease) and re-reads the live pointer inside it,
so a move decided on stale facts is refused. Each AWS write also carries the RevisionId it
read (function configuration, publish, alias): real Lambda then refuses a write that raced a
change made outside the deployer (a console edit, a ``sam deploy``). The pointer itself is a
compare-and-set on its generation. Order: alias first, pointer second, so a crash in between
leaves the pointer behind and the retried upload redoes the move (never the reverse, which
would make the retry think the version is already live).

``$LATEST`` is only a staging area: the model key is set there, a version is published from
it, and only published versions behind the alias ever serve traffic.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from . import clients, registry
from .errors import Conflict, LeptonError, UpstreamFailure
from .registry import Attempt, Canary, LivePointer, Release

ALIAS = "live"
ENV_KEY, ENV_SHA256, ENV_VERSION = "LEPTON_MODEL_KEY", "LEPTON_MODEL_SHA256", "LEPTON_MODEL_VERSION"
LEASE_SECONDS = int(os.environ.get("LEPTON_LEASE_SECONDS", "300"))


class RolloutError(LeptonError):
    """A move that was refused or failed; ``outcome`` is how the attempt is recorded.

    ``failed`` moves are worth retrying (the deployer fails the message so SQS redelivers it);
    ``skipped`` ones are final.
    """

    outcome = "failed"


class DeploymentBusy(RolloutError, Conflict):
    """Another deployer holds this model's lease."""


class Superseded(RolloutError, Conflict):
    """An equal or newer version went live while this one was being validated."""

    outcome = "skipped"


class NothingToDo(RolloutError, Conflict):
    """No canary to promote, no earlier version to roll back to, an unknown version."""

    outcome = "skipped"


class AliasConflict(RolloutError, Conflict):
    """The alias, function or pointer changed under us (RevisionId or generation mismatch)."""


class FunctionUpdateFailed(RolloutError, UpstreamFailure):
    """Lambda could not apply the new configuration."""


#: Waits until the function's last update has finished; replaceable (tests, other pollers).
UpdateWaiter = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    """A validated model version, ready to become a function version."""

    model: str
    version: int
    bucket: str
    model_key: str
    sha256: str


@dataclass(frozen=True)
class Move:
    """What a promotion did."""

    outcome: str  # promoted | canary
    release: Release
    previous: Release | None
    weight: float = 0.0


# -- lease ---------------------------------------------------------------------------------------
@contextmanager
def model_lease(model: str, purpose: str, seconds: int = LEASE_SECONDS) -> Iterator[str]:
    owner = f"{purpose}:{uuid.uuid4().hex[:12]}"
    if registry.acquire_lease(model, owner, purpose, seconds) is None:
        holder = registry.lease_holder(model) or {}
        raise DeploymentBusy(
            f"another deployment of '{model}' is in progress ({holder.get('purpose', 'unknown')}, "
            f"since {holder.get('acquired_at', '?')}); retry when it finishes"
        )
    try:
        yield owner
    finally:
        registry.release_lease(model, owner)


# -- promote ------------------------------------------------------------------------------------
def promote(candidate: Candidate, function_name: str, *, canary_weight: float = 0.0,
            bake_seconds: int = 300, wait: UpdateWaiter | None = None) -> Move:
    """Publish ``candidate`` as a new version of ``function_name`` and move the alias to it.

    With ``canary_weight`` in (0, 1) and a version already live, the alias keeps the live
    version and sends that share of requests to the new one; `promote_canary` finishes it.
    """
    lam = clients.client("lambda")
    with model_lease(candidate.model, f"promote v{candidate.version}"):
        pointer = registry.get_live(candidate.model)
        if pointer and candidate.version <= pointer.newest_version:
            raise Superseded(
                f"version {candidate.version} is not newer than version {pointer.newest_version}, which is "
                f"{'in canary' if pointer.canary and pointer.canary.release.version == pointer.newest_version else 'live'}"
                f"; uploads only move forward, use rollback to go back"
            )
        function_version = _publish(lam, function_name, candidate, wait or _wait_until_updated)
        release = Release(candidate.version, function_version, candidate.bucket, candidate.model_key, candidate.sha256)
        alias = _get_alias(lam, function_name)
        canary = pointer is not None and 0.0 < canary_weight < 1.0
        if canary:
            weights = {function_version: round(canary_weight, 4)}
            alias = _update_alias(lam, function_name, alias, alias["FunctionVersion"], weights)
            started = datetime.now(UTC)
            new_pointer = replace(pointer, canary=Canary(
                release, canary_weight, _iso(started), _iso(started + timedelta(seconds=bake_seconds))))
        else:
            alias = _update_alias(lam, function_name, alias, function_version, {})
            history = _history(pointer.live, pointer.history, release) if pointer else ()
            new_pointer = LivePointer(candidate.model, function_name, release, None, history)
        _write_pointer(new_pointer, pointer, alias)
        return Move("canary" if canary else "promoted", release, pointer.live if pointer else None,
                    canary_weight if canary else 0.0)


def promote_canary(model: str, expected_version: int | None = None, *, actor: str = "canary",
                   reason: str = "") -> Attempt:
    """Send all traffic to the model's canary version; the previous one stays addressable."""
    lam = clients.client("lambda")
    with model_lease(model, "promote canary"):
        pointer = _require_pointer(model)
        canary = pointer.canary
        if canary is None:
            raise NothingToDo(f"no canary of '{model}' is running; version {pointer.live.version} is live")
        if expected_version is not None and canary.release.version != expected_version:
            raise NothingToDo(f"the canary of '{model}' is now version {canary.release.version}, "
                              f"not {expected_version}; that canary has its own check")
        fn = pointer.function_name
        alias = _get_alias(lam, fn)
        routed = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if canary.release.function_version not in routed and alias["FunctionVersion"] != canary.release.function_version:
            registry.put_live(replace(pointer, canary=None), pointer.generation)
            raise AliasConflict(
                f"the '{ALIAS}' alias of {fn} no longer routes to the canary (function version "
                f"{canary.release.function_version}); was the stack redeployed? The canary was dropped"
            )
        alias = _update_alias(lam, fn, alias, canary.release.function_version, {})
        promoted = LivePointer(model, fn, canary.release, None, _history(pointer.live, pointer.history, canary.release))
        _write_pointer(promoted, pointer, alias)
        return registry.record_attempt(Attempt(
            model, canary.release.version, "promoted",
            reason or f"canary promoted to 100% (was {canary.weight:.0%} since {canary.started_at}); "
                      f"version {pointer.live.version} stays published as function version {pointer.live.function_version}",
            function_name=fn, function_version=canary.release.function_version, actor=actor))


def rollback(model: str, version: int | None = None, *, actor: str = "cli", reason: str = "") -> Attempt:
    """Move the alias back at once: to ``version``, or (None) the previously live version.

    During a canary, rolling back without a version (or to the live one) cancels the canary.
    """
    lam = clients.client("lambda")
    with model_lease(model, "rollback"):
        pointer = _require_pointer(model)
        if pointer.canary and (version is None or version == pointer.live.version):
            return _cancel_canary(lam, pointer, reason, actor)
        fn, current = pointer.function_name, pointer.live
        target = _rollback_target(lam, pointer, version)
        alias = _update_alias(lam, fn, _get_alias(lam, fn), target.function_version, {})
        _write_pointer(LivePointer(model, fn, target, None, _history(current, pointer.history, target)), pointer, alias)
        why = f"rolled back from version {current.version} to {target.version}"
        return registry.record_attempt(Attempt(
            model, target.version, "rolled_back", f"{why}; {reason}" if reason else why,
            function_name=fn, function_version=target.function_version, actor=actor))


def abort_canary(model: str, reason: str, expected_version: int | None = None, *, actor: str = "canary") -> Attempt:
    """Send all traffic back to the stable version (a failed canary check)."""
    lam = clients.client("lambda")
    with model_lease(model, "abort canary"):
        pointer = _require_pointer(model)
        if pointer.canary is None:
            raise NothingToDo(f"no canary of '{model}' is running; version {pointer.live.version} is live")
        if expected_version is not None and pointer.canary.release.version != expected_version:
            raise NothingToDo(f"the canary of '{model}' is now version {pointer.canary.release.version}, "
                              f"not {expected_version}")
        return _cancel_canary(lam, pointer, reason, actor)


def _cancel_canary(lam: Any, pointer: LivePointer, reason: str, actor: str) -> Attempt:
    assert pointer.canary is not None
    fn, canary = pointer.function_name, pointer.canary.release
    alias = _update_alias(lam, fn, _get_alias(lam, fn), pointer.live.function_version, {})
    _write_pointer(replace(pointer, canary=None), pointer, alias)
    why = f"canary of version {canary.version} cancelled; version {pointer.live.version} serves all traffic"
    return registry.record_attempt(Attempt(
        pointer.model, canary.version, "rolled_back", f"{why}; {reason}" if reason else why,
        function_name=fn, function_version=canary.function_version, actor=actor))


# -- steps --------------------------------------------------------------------------------------
def _publish(lam: Any, function_name: str, c: Candidate, wait: UpdateWaiter) -> str:
    config = _lambda(lam.get_function_configuration, FunctionName=function_name)
    env = dict((config.get("Environment") or {}).get("Variables") or {})
    env.update({ENV_KEY: c.model_key, ENV_SHA256: c.sha256, ENV_VERSION: str(c.version)})
    _lambda(lam.update_function_configuration, FunctionName=function_name, Environment={"Variables": env},
            **_revision(config))
    wait(function_name)
    staged = _lambda(lam.get_function_configuration, FunctionName=function_name)
    if staged.get("LastUpdateStatus") == "Failed":
        raise FunctionUpdateFailed(f"Lambda could not update {function_name}: "
                                   f"{staged.get('LastUpdateStatusReason', 'no reason given')}")
    if (staged.get("Environment") or {}).get("Variables", {}).get(ENV_SHA256) != c.sha256:
        raise AliasConflict(f"{function_name}'s configuration was changed by someone else before it was published")
    published = _lambda(lam.publish_version, FunctionName=function_name, CodeSha256=staged["CodeSha256"],
                        Description=f"{c.model} v{c.version} sha256 {c.sha256[:12]}", **_revision(staged))
    # Publishing unchanged code and configuration returns the existing version: check it is ours.
    env = (published.get("Environment") or {}).get("Variables", {})
    if env.get(ENV_SHA256) != c.sha256 or env.get(ENV_VERSION) != str(c.version):
        raise AliasConflict(f"published version {published['Version']} of {function_name} does not carry "
                            f"{c.model} v{c.version}; nothing was moved")
    return str(published["Version"])


def _wait_until_updated(function_name: str) -> None:
    from botocore.exceptions import WaiterError

    try:
        clients.client("lambda").get_waiter("function_updated_v2").wait(
            FunctionName=function_name, WaiterConfig={"Delay": 1, "MaxAttempts": 90})
    except WaiterError as exc:
        raise FunctionUpdateFailed(f"{function_name} did not finish updating: {exc}") from exc


def _get_alias(lam: Any, function_name: str) -> dict[str, Any]:
    return _lambda(lam.get_alias, FunctionName=function_name, Name=ALIAS)


def _update_alias(lam: Any, function_name: str, alias: dict[str, Any], version: str,
                  weights: dict[str, float]) -> dict[str, Any]:
    return _lambda(lam.update_alias, FunctionName=function_name, Name=ALIAS, FunctionVersion=version,
                   RoutingConfig={"AdditionalVersionWeights": weights}, **_revision(alias))


def _write_pointer(new: LivePointer, old: LivePointer | None, alias: dict[str, Any]) -> None:
    new = replace(new, alias_revision=str(alias.get("RevisionId", "")))
    try:
        registry.put_live(new, old.generation if old else None)
    except registry.PointerConflict as exc:
        # Impossible under the lease unless it expired mid-move; the alias moved, say so loudly.
        raise AliasConflict(f"{exc.message}; the alias now serves function version "
                            f"{alias.get('FunctionVersion')}; check `lepton deployments`") from exc


def _rollback_target(lam: Any, pointer: LivePointer, version: int | None) -> Release:
    current = pointer.live
    if version is None:
        earlier = [r for r in pointer.history if r.version < current.version]
        if not earlier:
            raise NothingToDo(f"no version of '{pointer.model}' older than {current.version} has been live")
        return max(earlier, key=lambda r: r.version)
    if version == current.version:
        raise NothingToDo(f"version {version} of '{pointer.model}' is already live")
    release = pointer.release(version) or _find_published(lam, pointer, version)
    if release is None:
        raise NothingToDo(f"version {version} of '{pointer.model}' was never published to {pointer.function_name}")
    return release


def _find_published(lam: Any, pointer: LivePointer, version: int) -> Release | None:
    """A version that fell out of the pointer's history: look for its published function version."""
    marker = None
    found: Release | None = None
    while True:
        page = _lambda(lam.list_versions_by_function, FunctionName=pointer.function_name,
                       **({"Marker": marker} if marker else {}))
        for fv in page.get("Versions", []):
            env = (fv.get("Environment") or {}).get("Variables", {})
            if fv["Version"] != "$LATEST" and env.get(ENV_VERSION) == str(version) and env.get(ENV_KEY):
                found = Release(version, str(fv["Version"]), env.get("LEPTON_MODEL_BUCKET", pointer.live.bucket),
                                env[ENV_KEY], env.get(ENV_SHA256, ""))  # keep the newest publish
        marker = page.get("NextMarker")
        if not marker:
            return found


def _history(old_live: Release, history: tuple[Release, ...], new_live: Release) -> tuple[Release, ...]:
    kept = [r for r in (old_live, *history) if r.version not in (new_live.version,)]
    seen: set[int] = set()
    unique = [r for r in kept if not (r.version in seen or seen.add(r.version))]
    return tuple(unique[:registry.HISTORY_LIMIT])


def _require_pointer(model: str) -> LivePointer:
    pointer = registry.get_live(model)
    if pointer is None:
        raise NothingToDo(f"no version of '{model}' has been deployed yet")
    return pointer


def _revision(response: dict[str, Any]) -> dict[str, str]:
    # moto 5.2.5 returns no RevisionId for functions; real Lambda always does.
    revision = response.get("RevisionId")
    return {"RevisionId": revision} if revision else {}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lambda(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        target = kwargs.get("FunctionName", "")
        if code == "PreconditionFailedException":
            raise AliasConflict(f"{target} changed while this deployment ran ({message}); nothing more was moved") from exc
        raise FunctionUpdateFailed(f"{target}: {code}: {message}") from exc
    except BotoCoreError as exc:
        raise FunctionUpdateFailed(f"{kwargs.get('FunctionName', '')}: {exc}") from exc

