"""The deployment registry: which version of each model is live, and every attempt to change it.

What the deployments table's items mean (lepton_serving.table makes the calls). Keys ``pk``/``sk``:

=====================  ==========================  ==============================================
pk                     sk                          item
=====================  ==========================  ==============================================
``model#<name>``       ``live``                    the live pointer: live release, canary, history
``model#<name>``       ``attempt#<time>#<id>``     one deployment attempt and its outcome
``model#<name>``       ``lease``                   held while one deployer moves the alias
``model#<name>``       ``drift``                   the newest drift check of its live version
``model#<name>``       ``baseline#<version>``      a first-window drift baseline (lepton_deploy.monitoring.baselines)
``idempotency#...``    <hash>                      Powertools idempotency records (TTL ``expiration``)
=====================  ==========================  ==============================================

Attempts, pointers and drift checks carry ``kind`` and ``created_at``, the keys of the sparse
``by-kind`` index: "newest attempts across all models" is one Query, no Scan.

The live pointer keeps the live release's fields (version, function_version, bucket,
model_key, sha256) at the top of its item: a model function whose environment names no model
reads exactly those at cold start (`DeploymentsTable.live_model_ref`). That is how a later
``sam deploy``, which resets the environment to the template's, keeps serving the promoted version.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from lepton_drift.levels import Level
from lepton_serving.table import LIVE_SK, ConditionFailed, DeploymentsTable, model_pk

from .clock import now_iso
from .errors import PointerConflict
from .outcomes import Outcome
from .receipt import Receipt, receipt_of

KIND_INDEX = "by-kind"
HISTORY_LIMIT = 20
ATTEMPTS_SEARCHED = 200  # how far back `receipt` looks for a version that left the pointer's history


@dataclass(frozen=True)
class Release:
    """One servable version: the published function version whose environment points at it."""

    version: int
    function_version: str
    bucket: str
    model_key: str
    sha256: str
    manifest_sha256: str = ""  # the validated manifest's bytes
    model_source: str = ""  # where its cold starts read the model: "layer" or "s3" ("" before layers)
    receipt: dict[str, Any] = field(default_factory=dict, compare=False)  # measured at publish (receipt.py)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Release:
        receipt = data.get("receipt")
        return cls(int(data["version"]), str(data["function_version"]), str(data.get("bucket", "")),
                   str(data["model_key"]), str(data.get("sha256", "")), str(data.get("manifest_sha256", "")),
                   str(data.get("model_source", "")), dict(receipt) if isinstance(receipt, dict) else {})


@dataclass(frozen=True)
class Canary:
    release: Release
    weight: float
    started_at: str
    promote_after: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Canary:
        return cls(Release.from_dict(data["release"]), float(data["weight"]), str(data["started_at"]),
                   str(data["promote_after"]))


@dataclass(frozen=True)
class LivePointer:
    """What a model's ``live`` alias serves, as the deployer last set it."""

    model: str
    function_name: str
    live: Release
    canary: Canary | None = None
    history: tuple[Release, ...] = ()  # releases that were live before, newest first
    generation: int = 0  # bumped on every write: the compare-and-set token
    alias_revision: str = ""
    updated_at: str = ""

    @property
    def newest_version(self) -> int:
        """The highest version this model is serving or trying out."""
        return max(self.live.version, self.canary.release.version if self.canary else 0)

    def release(self, version: int) -> Release | None:
        for release in (self.live, *((self.canary.release,) if self.canary else ()), *self.history):
            if release.version == version:
                return release
        return None


@dataclass
class Attempt:
    """One deployment attempt: an upload, a canary promotion, a rollback."""

    model: str
    version: int
    outcome: Outcome
    reason: str
    function_name: str = ""
    function_version: str = ""
    check: str = ""  # which gate check rejected it, when one did
    actor: str = "upload"
    timings_ms: dict[str, float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)  # bucket, key, etag, version_id
    created_at: str = ""
    attempt_id: str = ""
    model_source: str = ""  # a promotion's: "layer" (in the function version) or "s3" (fetched at cold start)
    #: The checks on the published version, in order, each {name, outcome, summary, figures, ms}
    #: (deployer/checks.py): pre-traffic, replay, receipt.
    checks: list[dict[str, Any]] = field(default_factory=list)
    #: The version's receipt, when it was measured (promoted, or refused by the regression gate).
    receipt: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.outcome = Outcome(self.outcome)
        except ValueError:
            raise ValueError(f"outcome must be one of {', '.join(Outcome)}, got {self.outcome!r}") from None
        self.created_at = self.created_at or now_iso()
        self.attempt_id = self.attempt_id or uuid.uuid4().hex[:12]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        """An attempt as stored or as the control API returns it; fields this code does not know are left out."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class DriftStatus:
    """The newest drift check of a model's live version (the drift function writes it): its level
    (ok, warning, alarm, not_enough_data, no_reference), its one-line message, the feature that
    moved most, and each measured feature's PSI."""

    model: str
    version: str
    level: Level
    message: str
    checked_at: str
    rows: int = 0
    reference: str = ""  # training, reference data, first captured window ("" when there is none)
    worst_feature: str = ""
    worst_psi: float | None = None
    features: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))  # a level by name is read as the enum

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftStatus:
        worst = data.get("worst_psi")
        return cls(str(data["model"]), str(data["version"]), data["level"], str(data.get("message", "")),
                   str(data.get("checked_at", "")), int(data.get("rows", 0)), str(data.get("reference", "")),
                   str(data.get("worst_feature", "")), float(worst) if worst is not None else None,
                   {str(k): float(v) for k, v in (data.get("features") or {}).items()})


class Registry:
    def __init__(self, table: DeploymentsTable):
        self.table = table

    # -- the live pointer --------------------------------------------------------------------
    def get_live(self, model: str, consistent: bool = True) -> LivePointer | None:
        item = self.table.get(model_pk(model), LIVE_SK, consistent=consistent)
        return _pointer_from_item(item) if item else None

    def list_live(self) -> list[LivePointer]:
        items = self.table.query("kind = :k", {":k": "live"}, index=KIND_INDEX)
        return sorted((_pointer_from_item(i) for i in items), key=lambda p: p.model)

    def put_live(self, pointer: LivePointer, expected_generation: int | None) -> LivePointer:
        """Write the pointer if nobody else has since we read it (generation compare-and-set).

        ``expected_generation`` None means "there must be no pointer yet".
        """
        stamped = LivePointer(pointer.model, pointer.function_name, pointer.live, pointer.canary,
                              tuple(pointer.history[:HISTORY_LIMIT]), (expected_generation or 0) + 1,
                              pointer.alias_revision, now_iso())
        try:
            if expected_generation is None:
                self.table.put(_pointer_to_item(stamped), "attribute_not_exists(pk)")
            else:
                self.table.put(_pointer_to_item(stamped), "generation = :g", {":g": expected_generation})
        except ConditionFailed as exc:
            raise PointerConflict(
                f"the live pointer of '{pointer.model}' changed while this deployment ran; nothing was overwritten"
            ) from exc
        return stamped

    # -- attempts ------------------------------------------------------------------------------
    def record_attempt(self, attempt: Attempt) -> Attempt:
        self.table.put({"pk": model_pk(attempt.model), "sk": f"attempt#{attempt.created_at}#{attempt.attempt_id}",
                        "kind": "attempt", **attempt.to_dict()})
        return attempt

    def list_deployments(self, model: str | None = None, limit: int = 50) -> list[Attempt]:
        """Attempts, newest first; of one model, or of every model."""
        if model:
            items = self.table.query("pk = :pk AND begins_with(sk, :a)", {":pk": model_pk(model), ":a": "attempt#"},
                                     newest_first=True, limit=limit)
        else:
            items = self.table.query("kind = :k", {":k": "attempt"}, index=KIND_INDEX, newest_first=True,
                                     limit=limit)
        return [Attempt.from_dict(i) for i in items]

    # -- receipts ----------------------------------------------------------------------------------
    def receipt(self, model: str, version: int) -> Receipt | None:
        """A version's receipt: from the live pointer (live, canary or earlier), else its newest
        attempt that carries one. None when it was never measured."""
        pointer = self.get_live(model, consistent=False)
        release = pointer.release(version) if pointer else None
        found = receipt_of(release.receipt) if release else None
        if found is None:
            found = next((r for r in (receipt_of(a.receipt) for a in self.list_deployments(model, ATTEMPTS_SEARCHED)
                                      if a.version == version) if r is not None), None)
        return found

    # -- the per-model lease -------------------------------------------------------------------
    def acquire_lease(self, model: str, owner: str, purpose: str, seconds: int) -> dict[str, Any] | None:
        """Take the model's deployment lease; None if another live holder has it.

        A holder that died (Lambda timeout) loses the lease when it expires.
        """
        now = int(time.time())
        item = {"pk": model_pk(model), "sk": "lease", "owner": owner, "purpose": purpose,
                "expires_at": now + seconds, "acquired_at": now_iso()}
        try:
            self.table.put(item, "attribute_not_exists(pk) OR expires_at < :now", {":now": now})
        except ConditionFailed:
            return None
        return item

    # -- drift -------------------------------------------------------------------------------------
    def put_drift(self, status: DriftStatus) -> None:
        self.table.put({"pk": model_pk(status.model), "sk": "drift", "kind": "drift",
                        "created_at": status.checked_at, **asdict(status)})

    def get_drift(self, model: str) -> DriftStatus | None:
        item = self.table.get(model_pk(model), "drift", consistent=False)
        return DriftStatus.from_dict(item) if item else None

    def list_drift(self) -> list[DriftStatus]:
        """Every model's newest drift check: one Query."""
        items = self.table.query("kind = :k", {":k": "drift"}, index=KIND_INDEX)
        return sorted((DriftStatus.from_dict(i) for i in items), key=lambda d: d.model)

    def put_baseline(self, model: str, version: str, profile: str) -> None:
        """A first-window baseline (JSON text), written once: the first one made stays."""
        try:
            self.table.put({"pk": model_pk(model), "sk": f"baseline#{version}", "profile": profile,
                            "created_at": now_iso()}, "attribute_not_exists(pk)")
        except ConditionFailed:
            pass

    def get_baseline(self, model: str, version: str) -> str | None:
        item = self.table.get(model_pk(model), f"baseline#{version}")
        return str(item["profile"]) if item else None

    def lease_holder(self, model: str) -> dict[str, Any] | None:
        return self.table.get(model_pk(model), "lease")

    def release_lease(self, model: str, owner: str) -> None:
        try:
            self.table.delete(model_pk(model), "lease", "#o = :o", {":o": owner}, {"#o": "owner"})
        except ConditionFailed:
            pass  # expired and taken over by someone else: theirs now, leave it


# -- items ---------------------------------------------------------------------------------------
def _pointer_to_item(p: LivePointer) -> dict[str, Any]:
    return {
        "pk": model_pk(p.model), "sk": LIVE_SK, "kind": "live", "created_at": p.updated_at,
        "model": p.model, "function_name": p.function_name, **asdict(p.live),
        "canary": asdict(p.canary) if p.canary else None,
        "history": [asdict(r) for r in p.history],
        "generation": p.generation, "alias_revision": p.alias_revision, "updated_at": p.updated_at,
    }


def _pointer_from_item(d: dict[str, Any]) -> LivePointer:
    return LivePointer(
        model=d["model"], function_name=d.get("function_name", ""), live=Release.from_dict(d),
        canary=Canary.from_dict(d["canary"]) if d.get("canary") else None,
        history=tuple(Release.from_dict(r) for r in d.get("history", [])),
        generation=int(d.get("generation", 0)), alias_revision=d.get("alias_revision", ""),
        updated_at=d.get("updated_at", ""),
    )
