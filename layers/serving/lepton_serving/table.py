"""The deployments table: the only module of ours that calls DynamoDB (Powertools' idempotency
writes its own records into the same table: deployer/idempotency.py).

One table, keys ``pk``/``sk`` (the item layout is described in lepton_deploy.registry, which
gives the items their meaning). This module knows how to read and write items, how a
conditional write fails, and the one item a model function reads at cold start: its model's
live pointer (`live_model_ref`), which its V2 metadata also reads for the version's receipt. The client and the table name are passed in.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .clients import error_code
from .pins import ModelPins
from .errors import UpstreamFailure

LIVE_SK = "live"


class TableError(UpstreamFailure):
    """The deployments table cannot be read or written (missing, throttled, misconfigured)."""


class ConditionFailed(Exception):
    """A conditional write found the item in another state (control flow, not an error to show)."""


def model_pk(model: str) -> str:
    return f"model#{model}"


class DeploymentsTable:
    def __init__(self, dynamodb: Any, name: str):
        self.dynamodb = dynamodb
        self.name = name

    # -- calls -----------------------------------------------------------------------------------
    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        item = self._call("get_item", Key=_key(pk, sk), ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    def put(self, item: dict[str, Any], condition: str | None = None, values: dict[str, Any] | None = None,
            names: dict[str, str] | None = None) -> None:
        """Write ``item``; with ``condition``, ConditionFailed if it does not hold."""
        self._call("put_item", Item=to_item(item), **_condition(condition, values, names))

    def delete(self, pk: str, sk: str, condition: str | None = None, values: dict[str, Any] | None = None,
               names: dict[str, str] | None = None) -> None:
        self._call("delete_item", Key=_key(pk, sk), **_condition(condition, values, names))

    def query(self, condition: str, values: dict[str, Any], index: str | None = None, newest_first: bool = False,
              limit: int | None = None) -> list[dict[str, Any]]:
        """Every page of a Query on the table (or ``index``), up to ``limit`` items, as plain values."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ExpressionAttributeValues": to_item(values),
                                  "ScanIndexForward": not newest_first}
        if index:
            kwargs["IndexName"] = index
        items: list[dict[str, Any]] = []
        while True:
            page = self._call("query", **kwargs, **({"Limit": limit - len(items)} if limit else {}))
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start or (limit and len(items) >= limit):
                return [from_item(i) for i in items]
            kwargs["ExclusiveStartKey"] = start

    # -- the one read a model function makes ---------------------------------------------------
    def live_model_ref(self, model: str, default_bucket: str = "") -> ModelPins | None:
        """The live version of ``model`` as the deployer last promoted it (None before the first)."""
        item = self.get(model_pk(model), LIVE_SK, consistent=False)
        if item is None:
            return None
        return ModelPins(str(item.get("bucket") or default_bucket), str(item["model_key"]),
                        str(item.get("sha256", "")), str(item.get("version", "")),
                        str(item.get("manifest_sha256", "")))

    def release_receipt(self, model: str, version: str) -> dict[str, Any] | None:
        """The receipt of one version, if the live pointer remembers it (live, canary or earlier)."""
        item = self.get(model_pk(model), LIVE_SK, consistent=False)
        if item is None:
            return None
        canary = item.get("canary") or {}
        for release in (item, canary.get("release") or {}, *(item.get("history") or [])):
            if str(release.get("version", "")) == str(version) and release.get("receipt"):
                return dict(release["receipt"])
        return None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs.setdefault("TableName", self.name)
        try:
            return getattr(self.dynamodb, operation)(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException" and "ConditionExpression" in kwargs:
                raise ConditionFailed() from exc
            raise TableError(f"deployments table {self.name!r}: {operation} failed ({code or exc})") from exc
        except BotoCoreError as exc:
            raise TableError(f"deployments table {self.name!r}: {operation} failed ({exc})") from exc


# -- item conversion -------------------------------------------------------------------------------
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


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _condition(condition: str | None, values: dict[str, Any] | None,
               names: dict[str, str] | None) -> dict[str, Any]:
    if condition is None:
        return {}
    out: dict[str, Any] = {"ConditionExpression": condition}
    if values:
        out["ExpressionAttributeValues"] = to_item(values)
    if names:
        out["ExpressionAttributeNames"] = names
    return out
