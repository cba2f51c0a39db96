"""Lambda, as deployment uses it: the only module that calls the Lambda API.

A model function's configuration (its environment names the model it serves, its layers may
carry it), publishing a version, the ``live`` alias and its weights, waiting for an update,
and the model layers' versions. Every write carries the RevisionId it read, so real Lambda
refuses a write that raced a change made elsewhere (a console edit, a ``sam deploy``). The
client is passed in.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lepton_serving.clients import error_code, error_message
from lepton_serving.pins import ModelPins

from .errors import AliasConflict, FunctionUpdateFailed

ALIAS = "live"
LATEST = "$LATEST"


@dataclass(frozen=True)
class FunctionConfig:
    """One function version's configuration, as GetFunctionConfiguration returns it."""

    name: str
    version: str
    environment: dict[str, str] = field(default_factory=dict)
    code_sha256: str = ""
    revision: str = ""
    update_status: str = ""
    update_reason: str = ""
    layers: tuple[str, ...] = ()  # layer version ARNs, in the order Lambda extracts them
    runtime: str = ""
    architectures: tuple[str, ...] = ()
    memory_mb: int = 0  # MemorySize

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> FunctionConfig:
        return cls(
            name=str(response.get("FunctionName", "")),
            version=str(response.get("Version", LATEST)),
            environment=dict((response.get("Environment") or {}).get("Variables") or {}),
            code_sha256=str(response.get("CodeSha256", "")),
            # moto 5.2.5 returns no RevisionId for functions; real Lambda always does.
            revision=str(response.get("RevisionId", "") or ""),
            update_status=str(response.get("LastUpdateStatus", "") or ""),
            update_reason=str(response.get("LastUpdateStatusReason", "") or ""),
            layers=tuple(str(layer["Arn"]) for layer in response.get("Layers") or []),
            runtime=str(response.get("Runtime", "") or ""),
            architectures=tuple(str(a) for a in response.get("Architectures") or []),
            memory_mb=int(response.get("MemorySize") or 0),
        )

    @property
    def pins(self) -> ModelPins:
        """The model this version's environment pins."""
        return ModelPins.from_env(self.environment)

    def serves(self, model_version: int | str, sha256: str) -> bool:
        pins = self.pins
        return pins.sha256 == sha256 and pins.version == str(model_version)


@dataclass(frozen=True)
class AliasState:
    """Where an alias points: one version, plus weighted extra versions during a canary."""

    function: str
    version: str
    weights: dict[str, float] = field(default_factory=dict)
    revision: str = ""

    @classmethod
    def from_response(cls, function: str, response: dict[str, Any]) -> AliasState:
        weights = (response.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return cls(function, str(response["FunctionVersion"]), {str(k): float(w) for k, w in weights.items()},
                   str(response.get("RevisionId", "") or ""))

    @property
    def canary(self) -> tuple[str, float] | None:
        """(version, weight) of the one extra version Lepton's canaries use, if any."""
        return next(iter(self.weights.items()), None)

    def routes_to(self, version: str) -> bool:
        return self.version == version or version in self.weights


@dataclass(frozen=True)
class LayerVersion:
    """One version of a layer, as PublishLayerVersion, GetLayerVersion or ListLayerVersions tell it."""

    arn: str  # arn:aws:lambda:<region>:<account>:layer:<name>:<version>
    description: str = ""
    code_sha256: str = ""  # base64 of the zip's sha256, as Lambda reports it (not in a listing)
    code_size: int = 0
    location: str = ""  # where the zip can be downloaded (real Lambda: a presigned URL for 10 minutes)

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> LayerVersion:
        content = response.get("Content") or {}
        return cls(str(response["LayerVersionArn"]), str(response.get("Description", "") or ""),
                   str(content.get("CodeSha256", "") or ""), int(content.get("CodeSize", 0) or 0),
                   str(content.get("Location", "") or ""))

    @property
    def name(self) -> str:
        return layer_name(self.arn)

    @property
    def version(self) -> int:
        return int(self.arn.rsplit(":", 1)[1])


def layer_name(arn: str) -> str:
    """The layer's name in a layer (version) ARN; a bare name is its own name."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "layer" else arn


#: Waits until a function's last update has finished; replaceable (tests, other pollers).
UpdateWaiter = Callable[[str], None]


class LambdaFunctions:
    def __init__(self, lambda_client: Any):
        self.client = lambda_client

    # -- reads ---------------------------------------------------------------------------------
    def config(self, name: str, qualifier: str | None = None) -> FunctionConfig:
        kwargs = {"Qualifier": qualifier} if qualifier else {}
        return FunctionConfig.from_response(self._call(self.client.get_function_configuration,
                                                       FunctionName=name, **kwargs))

    def alias(self, name: str, alias: str = ALIAS) -> AliasState:
        return AliasState.from_response(name, self._call(self.client.get_alias, FunctionName=name, Name=alias))

    def versions(self, name: str) -> Iterator[FunctionConfig]:
        """Every published version (not $LATEST), oldest first, one page at a time."""
        marker = None
        while True:
            page = self._call(self.client.list_versions_by_function, FunctionName=name,
                              **({"Marker": marker} if marker else {}))
            for version in page.get("Versions", []):
                if version.get("Version") != LATEST:
                    yield FunctionConfig.from_response(version)
            marker = page.get("NextMarker")
            if not marker:
                return

    def layer_versions(self, name: str) -> Iterator[LayerVersion]:
        """Every version of one layer (deleted ones are not listed), one page at a time."""
        marker = None
        while True:
            page = self._call(self.client.list_layer_versions, LayerName=name,
                              **({"Marker": marker} if marker else {}))
            for version in page.get("LayerVersions", []):
                yield LayerVersion.from_response(version)
            marker = page.get("NextMarker")
            if not marker:
                return

    def layer_version(self, arn: str) -> LayerVersion:
        """One layer version by its ARN, with where its zip can be downloaded."""
        lv = LayerVersion(arn)
        return LayerVersion.from_response(self._call(self.client.get_layer_version, LayerName=lv.name,
                                                     VersionNumber=lv.version))

    # -- writes --------------------------------------------------------------------------------
    def set_environment(self, current: FunctionConfig, environment: dict[str, str],
                        layers: tuple[str, ...] | None = None, memory_mb: int | None = None) -> None:
        """Replace $LATEST's environment (and, given, its layers and memory size) in one update,
        refused by Lambda if the function changed since ``current`` was read."""
        extra: dict[str, Any] = {"Layers": list(layers)} if layers is not None else {}
        if memory_mb is not None:
            extra["MemorySize"] = memory_mb
        self._call(self.client.update_function_configuration, FunctionName=current.name,
                   Environment={"Variables": environment}, **extra, **_revision(current.revision))

    def publish_layer(self, name: str, zip_bytes: bytes, description: str, runtimes: tuple[str, ...],
                      architectures: tuple[str, ...]) -> LayerVersion:
        """A new version of layer ``name`` from a zip sent in the request (at most 50 MB zipped)."""
        extra: dict[str, Any] = {}
        if runtimes:
            extra["CompatibleRuntimes"] = list(runtimes)
        if architectures:
            extra["CompatibleArchitectures"] = list(architectures)
        return LayerVersion.from_response(self._call(
            self.client.publish_layer_version, LayerName=name, Description=description[:256],
            Content={"ZipFile": zip_bytes}, **extra))

    def delete_version(self, name: str, version: str) -> None:
        """Delete one published version (never $LATEST, never one an alias routes to: Lambda refuses)."""
        if version == LATEST:
            raise ValueError("$LATEST is not a published version")
        self._call(self.client.delete_function, FunctionName=name, Qualifier=version)

    def delete_layer_version(self, arn: str) -> None:
        lv = LayerVersion(arn)
        self._call(self.client.delete_layer_version, LayerName=lv.name, VersionNumber=lv.version)

    def wait_updated(self, name: str, attempts: int = 90) -> None:
        from botocore.exceptions import WaiterError

        try:
            self.client.get_waiter("function_updated_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": attempts})
        except WaiterError as exc:
            raise FunctionUpdateFailed(f"{name} did not finish updating: {exc}") from exc

    def publish(self, staged: FunctionConfig, description: str, attempts: int = 60, delay: int = 2) -> FunctionConfig:
        """Publish $LATEST as ``staged`` read it: its code and revision, or Lambda refuses. Returns
        once the version can be invoked: under SnapStart it stays Pending while its snapshot is made."""
        response = self._call(self.client.publish_version, FunctionName=staged.name, CodeSha256=staged.code_sha256,
                              Description=description, **_revision(staged.revision))
        if response.get("State") == "Pending":
            from botocore.exceptions import WaiterError

            version = str(response.get("Version", ""))
            try:
                self.client.get_waiter("published_version_active").wait(
                    FunctionName=staged.name, Qualifier=version, WaiterConfig={"Delay": delay, "MaxAttempts": attempts})
            except WaiterError as exc:
                raise FunctionUpdateFailed(f"{staged.name} version {version} did not become active: {exc}") from exc
        return FunctionConfig.from_response(response)

    def move_alias(self, current: AliasState, version: str, weights: dict[str, float] | None = None,
                   alias: str = ALIAS) -> AliasState:
        """Point the alias at ``version`` (plus ``weights``), refused if it moved since ``current``."""
        response = self._call(self.client.update_alias, FunctionName=current.function, Name=alias,
                              FunctionVersion=version, RoutingConfig={"AdditionalVersionWeights": weights or {}},
                              **_revision(current.revision))
        return AliasState.from_response(current.function, response)

    @staticmethod
    def _call(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        target = kwargs.get("FunctionName") or kwargs.get("LayerName", "")
        try:
            return call(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "PreconditionFailedException":
                raise AliasConflict(f"{target} changed while this deployment ran ({error_message(exc)}); "
                                    "nothing more was moved") from exc
            raise FunctionUpdateFailed(f"{target}: {error_message(exc)}") from exc
        except BotoCoreError as exc:
            raise FunctionUpdateFailed(f"{target}: {exc}") from exc


def _revision(revision: str) -> dict[str, str]:
    return {"RevisionId": revision} if revision else {}
