"""The deployment registry: which version of each model is live, and every attempt to change it.

One DynamoDB table (env LEPTON_DEPLOYMENTS_TABLE), keys ``pk``/``sk``:

=====================  ==========================  ==============================================
pk                     sk                          item
=====================  ==========================  ==============================================
``model#<name>``       ``live``                    the live pointer: live release, canary, history
``model#<name>``       ``attempt#<time>#<id>``     one deployment attempt and its outcome
``model#<name>``       ``lease``                   held while one deployer moves the alias
``idempotency#...``    <hash>                      Powertools idempotency records (TTL ``expiration``)
=====================  ==========================  ==============================================

Attempts and pointers carry ``kind`` and ``created_at``, the keys of the sparse ``by-kind`` index:
"newest attempts across all models" is one Query, no Scan.

Model functions read the live pointer at cold start when their environment names no model
(`live_model_ref`): that is how a later ``sam deploy``, which resets the environment to the
template's, keeps serving the promoted version. This module imports neither onnx nor numpy.
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import clients
from .config import ModelRef
from .errors import Conflict, ModelNotReady, UpstreamFailure

if TYPE_CHECKING:
    from .config import ServingConfig

TABLE_ENV = "LEPTON_DEPLOYMENTS_TABLE"
KIND_INDEX = "by-kind"
OUTCOMES = ("promoted", "canary", "rejected", "skipped", "rolled_back", "failed")
HISTORY_LIMIT = 20


class RegistryError(UpstreamFailure):
    """The deployments table cannot be read or written (missing, throttled, misconfigured)."""


class PointerConflict(RegistryError, Conflict):
    """The live pointer changed between our read and our write."""


@dataclass(frozen=True)
class Release:
    """One servable version: the published function version whose environment points at it."""

    version: int
    function_version: str
    bucket: str
    model_key: str
    sha256: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Release:
        return cls(int(data["version"]), str(data["function_version"]), str(data.get("bucket", "")),
                   str(data["model_key"]), str(data.get("sha256", "")))


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
    outcome: str
    reason: str
    function_name: str = ""
    function_version: str = ""
    check: str = ""  # which gate check rejected it, when one did
    actor: str = "upload"
    timings_ms: dict[str, float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)  # bucket, key, etag, version_id
    created_at: str = ""
    attempt_id: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        self.created_at = self.created_at or now_iso()
        self.attempt_id = self.attempt_id or uuid.uuid4().hex[:12]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- time --------------------------------------------------------------------------------------
def now_iso() -> str:
    """UTC, microseconds, fixed width: sorts as text in DynamoDB range keys."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def table_name(table: str | None = None) -> str:
    name = table or os.environ.get(TABLE_ENV, "")
    if not name:
        raise RegistryError(f"no deployments table configured; set {TABLE_ENV}")
    return name


def model_pk(model: str) -> str:
    return f"model#{model}"


# -- the live pointer ------------------------------------------------------------------------
def get_live(model: str, table: str | None = None, consistent: bool = True) -> LivePointer | None:
    item = _call("get_item", TableName=table_name(table), Key=_key(model_pk(model), "live"),
                 ConsistentRead=consistent).get("Item")
    return _pointer_from_item(from_item(item)) if item else None


def list_live(table: str | None = None) -> list[LivePointer]:
    items = _query_all(TableName=table_name(table), IndexName=KIND_INDEX,
                       KeyConditionExpression="kind = :k", ExpressionAttributeValues={":k": {"S": "live"}})
    return sorted((_pointer_from_item(from_item(i)) for i in items), key=lambda p: p.model)


def put_live(pointer: LivePointer, expected_generation: int | None, table: str | None = None) -> LivePointer:
    """Write the pointer if nobody else has since we read it (generation compare-and-set).

    ``expected_generation`` None means "there must be no pointer yet".
    """
    stamped = LivePointer(pointer.model, pointer.function_name, pointer.live, pointer.canary,
                          tuple(pointer.history[:HISTORY_LIMIT]), (expected_generation or 0) + 1,
                          pointer.alias_revision, now_iso())
    item = _pointer_to_item(stamped)
    if expected_generation is None:
        condition, values = "attribute_not_exists(pk)", {}
    else:
        condition, values = "generation = :g", {":g": {"N": str(expected_generation)}}
    try:
        _call("put_item", TableName=table_name(table), Item=to_item(item), ConditionExpression=condition,
              **({"ExpressionAttributeValues": values} if values else {}), conditional=True)
    except _ConditionFailed as exc:
        raise PointerConflict(
            f"the live pointer of '{pointer.model}' changed while this deployment ran; nothing was overwritten"
        ) from exc
    return stamped


def live_model_ref(config: ServingConfig) -> ModelRef | None:
    """The live version for a model function whose environment names none (cold start)."""
    if not config.deployments_table or not config.model_name:
        return None
    try:
        pointer = get_live(config.model_name, config.deployments_table, consistent=False)
    except RegistryError as exc:
        raise ModelNotReady(f"cannot read which version of '{config.model_name}' is live: {exc.message}") from exc
    if pointer is None:
        return None
    live = pointer.live
    return ModelRef(live.bucket or config.bucket, live.model_key, live.sha256, str(live.version))


# -- attempts ------------------------------------------------------------------------------
def record_attempt(attempt: Attempt, table: str | None = None) -> Attempt:
    item = {"pk": model_pk(attempt.model), "sk": f"attempt#{attempt.created_at}#{attempt.attempt_id}",
            "kind": "attempt", **attempt.to_dict()}
    _call("put_item", TableName=table_name(table), Item=to_item(item))
    return attempt


def list_deployments(model: str | None = None, limit: int = 50, table: str | None = None) -> list[Attempt]:
    """Attempts, newest first; of one model, or of every model."""
    if model:
        query = {"KeyConditionExpression": "pk = :pk AND begins_with(sk, :a)",
                 "ExpressionAttributeValues": {":pk": {"S": model_pk(model)}, ":a": {"S": "attempt#"}}}
    else:
        query = {"IndexName": KIND_INDEX, "KeyConditionExpression": "kind = :k",
                 "ExpressionAttributeValues": {":k": {"S": "attempt"}}}
    items = _query_all(TableName=table_name(table), ScanIndexForward=False, limit=limit, **query)
    return [_attempt_from_item(from_item(i)) for i in items]


# -- the per-model lease -------------------------------------------------------------------
def acquire_lease(model: str, owner: str, purpose: str, seconds: int, table: str | None = None) -> dict[str, Any] | None:
    """Take the model's deployment lease; None if another live holder has it (returns nothing then).

    A holder that died (Lambda timeout) loses the lease when it expires.
    """
    now = int(time.time())
    item = {"pk": model_pk(model), "sk": "lease", "owner": owner, "purpose": purpose,
            "expires_at": now + seconds, "acquired_at": now_iso()}
    try:
        _call("put_item", TableName=table_name(table), Item=to_item(item),
              ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
              ExpressionAttributeValues={":now": {"N": str(now)}}, conditional=True)
    except _ConditionFailed:
        return None
    return item


def lease_holder(model: str, table: str | None = None) -> dict[str, Any] | None:
    item = _call("get_item", TableName=table_name(table), Key=_key(model_pk(model), "lease"),
                 ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def release_lease(model: str, owner: str, table: str | None = None) -> None:
    try:
        _call("delete_item", TableName=table_name(table), Key=_key(model_pk(model), "lease"),
              ConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
              ExpressionAttributeValues={":o": {"S": owner}}, conditional=True)
    except _ConditionFailed:
        pass  # expired and taken over by someone else: theirs now, leave it


# -- item conversion -------------------------------------------------------------------------
def to_item(data: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(_decimals(v)) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(round(value, 6)))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _pointer_to_item(p: LivePointer) -> dict[str, Any]:
    return {
        "pk": model_pk(p.model), "sk": "live", "kind": "live", "created_at": p.updated_at,
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


def _attempt_from_item(d: dict[str, Any]) -> Attempt:
    known = Attempt.__dataclass_fields__
    return Attempt(**{k: v for k, v in d.items() if k in known})


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


# -- calls -------------------------------------------------------------------------------------
class _ConditionFailed(Exception):
    pass


def _call(operation: str, conditional: bool = False, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(clients.client("dynamodb"), operation)(**kwargs)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if conditional and code == "ConditionalCheckFailedException":
            raise _ConditionFailed() from exc
        raise RegistryError(f"deployments table {kwargs.get('TableName')!r}: {operation} failed ({code or exc})") from exc
    except BotoCoreError as exc:
        raise RegistryError(f"deployments table {kwargs.get('TableName')!r}: {operation} failed ({exc})") from exc


def _query_all(limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = _call("query", **kwargs, **({"Limit": limit - len(items)} if limit else {}))
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start or (limit and len(items) >= limit):
            return items
        kwargs["ExclusiveStartKey"] = start
