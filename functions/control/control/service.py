"""What the control API does, over the registry, rollout, the model bucket and Lambda.

Routes stay thin: each calls one method here and returns its typed result. Errors are domain
errors (lepton_serving.errors); the app's one handler turns them into statuses.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lepton_deploy.clock import iso
from lepton_deploy.errors import RolloutError
from lepton_deploy.functions import ALIAS, LambdaFunctions
from lepton_deploy.receipt import Receipt, receipt_of
from lepton_deploy.registry import Attempt, LivePointer, Registry, Release
from lepton_deploy.rollout import Rollout
from lepton_serving.bucket import ModelBucket, StoredVersion
from lepton_serving.errors import (Conflict, InvalidRequest, LeptonError, ModelIntegrityError, ModelNotReady,
                                  NotFound, ObjectMissing, StorageUnavailable, UpstreamFailure)
from lepton_serving.manifest import (MANIFEST_FILE, MODEL_FILE, REFERENCE_FILE, TOKENIZER_FILE, Manifest,
                                     manifest_key, model_key, valid_name, version_prefix)
from lepton_serving.redaction import Redactor

from control.batch_jobs import BatchJobs, BatchUnavailable
from control.public import HIDDEN, model_card, public_attempt, public_drift, public_model
from control.replays import Replays, ReplayUnavailable
from control.schemas import (AliasOut, AttemptOut, CanaryOut, DeploymentsResponse, LastDeployment, ModelCard,
                             ModelDetail, ModelsResponse, ModelSummary, PresignedUpload, PromoteRequest, PublicStatus,
                             RepositoryModel, RollbackRequest, TensorSpecOut, UploadRequest, UploadResponse,
                             VersionInfo)
from control.settings import Settings

#: How many attempts of one model are read to tell each version's last decision.
ATTEMPTS_PER_MODEL = 200
#: The largest manifest.json an upload takes (a manifest is a few KB; a vocabulary makes it larger).
MAX_MANIFEST_UPLOAD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Backends:
    """What the service works through, each over its own AWS client (made by the app)."""

    registry: Registry
    rollout: Rollout
    functions: LambdaFunctions
    bucket: ModelBucket
    batch: BatchJobs | None = None
    replays: Replays | None = None


class ControlService:
    def __init__(self, settings: Settings, backends: Backends):
        self.settings = settings
        self.registry = backends.registry
        self.rollout = backends.rollout
        self.functions = backends.functions
        self.bucket = backends.bucket
        self._batch = backends.batch
        self._replays = backends.replays
        self.redact = Redactor(settings.bucket, settings.table, settings.functions.values())

    @property
    def batch(self) -> BatchJobs:
        if self._batch is None:
            raise BatchUnavailable("batch jobs are not configured on this stack")
        return self._batch

    @property
    def replays(self) -> Replays:
        if self._replays is None:
            raise ReplayUnavailable("replays are not configured on this stack")
        return self._replays

    # -- reads -------------------------------------------------------------------------------
    def list_models(self) -> ModelsResponse:
        pointers = {p.model: p for p in self.registry.list_live()}
        names = sorted(set(self.settings.functions) | set(pointers))
        summaries = []
        for name in names:
            last = self.registry.list_deployments(name, limit=1)
            summaries.append(self._summary(name, pointers.get(name), last[0] if last else None))
        return ModelsResponse(models=summaries)

    def get_model(self, name: str) -> ModelDetail:
        pointer = self._require_known(name)
        attempts = self.registry.list_deployments(name, limit=ATTEMPTS_PER_MODEL)
        latest: dict[int, Attempt] = {}
        receipts: dict[int, Receipt] = {}
        for attempt in attempts:  # newest first: the first one seen per version is its latest
            latest.setdefault(attempt.version, attempt)
            found = receipt_of(attempt.receipt)
            if found is not None:
                receipts.setdefault(attempt.version, found)
        for release in _releases(pointer):  # the pointer's copy wins: it is the one that was promoted
            found = receipt_of(release.receipt)
            if found is not None:
                receipts[release.version] = found
        versions = [self._version(stored, pointer, latest.get(stored.version), receipts.get(stored.version))
                    for stored in self.bucket.versions(name)]
        summary = self._summary(name, pointer, attempts[0] if attempts else None)
        live = next((v for v in versions if pointer and v.version == pointer.live.version), None)
        alias, notes = self._alias(summary.function_name, pointer)
        return ModelDetail(**summary.model_dump(), versions=versions, manifest=live, alias=alias, notes=notes)

    def repository_index(self, ready_only: bool) -> list[RepositoryModel]:
        """Every model a function serves (LEPTON_FUNCTIONS) and whether it is live. A model whose
        function was removed is gone, whatever the registry still remembers of it."""
        pointers = {p.model: p for p in self.registry.list_live()}
        index = []
        for name in sorted(self.settings.functions):
            pointer = pointers.get(name)
            if pointer is not None:
                index.append(RepositoryModel(name=name, version=str(pointer.live.version), state="READY"))
            elif not ready_only:
                index.append(RepositoryModel(name=name, state="UNAVAILABLE",
                                             reason="no version has been deployed yet; upload one"))
        return index

    def ready(self) -> bool:
        """The server can answer: its configuration is valid and the registry answers."""
        self.registry.list_live()
        return True

    def deployments(self, model: str | None, limit: int) -> DeploymentsResponse:
        if model is not None and not valid_name(model):
            raise InvalidRequest(f"'{model}' is not a model name: lower-case letters, digits and '-', "
                                 "starting with a letter")
        attempts = self.registry.list_deployments(model or None, limit=limit)
        return DeploymentsResponse(deployments=[_attempt(a) for a in attempts])

    # -- the open views (control.public): what the playground page may show ------------------
    def card(self, name: str) -> ModelCard:
        """The live version's public model card (only of a model a function serves)."""
        with self._open_view():
            pointer = self._require_served(name)
        if pointer is None:
            raise ModelNotReady(f"no version of '{name}' is live yet, so it has no model card; upload one")
        version = pointer.live.version
        # Rephrased, never passed on: the bucket's own messages name the bucket, and this route is open.
        try:
            manifest = self.bucket.manifest(manifest_key(name, version))
        except StorageUnavailable as exc:
            raise UpstreamFailure(f"the model bucket did not answer for the manifest of {name} v{version}") from exc
        except ObjectMissing as exc:
            raise ModelNotReady(f"the manifest of {name} v{version} is missing from the model bucket") from exc
        except ModelIntegrityError as exc:
            raise ModelNotReady(f"the manifest of {name} v{version} is not valid") from exc
        return model_card(manifest, pointer.live.receipt)

    def status(self, limit: int) -> PublicStatus:
        """Every model's live version and canary, and the newest attempts, without infrastructure names."""
        with self._open_view():
            pointers = {p.model: p for p in self.registry.list_live()}
            attempts = self.registry.list_deployments(None, limit=limit)
            drift = {d.model: public_drift(self.redact, d) for d in self.registry.list_drift()}
        served = self.settings.functions  # a removed model's records stay in the table, not on the page
        return PublicStatus(models=[public_model(name, pointers.get(name), drift.get(name)) for name in sorted(served)],
                            deployments=[public_attempt(self.redact, a) for a in attempts if a.model in served],
                            hidden=HIDDEN)

    @contextmanager
    def _open_view(self) -> Iterator[None]:
        """An open route's errors, too, leave out the names of this deployment's resources."""
        try:
            yield
        except LeptonError as exc:
            exc.message = self.redact(exc.message)
            exc.args = (exc.message,)
            raise

    # -- moves -------------------------------------------------------------------------------
    def rollback(self, name: str, request: RollbackRequest, actor: str) -> AttemptOut:
        self._require_known(name)
        return _attempt(self.rollout.rollback(name, request.version, actor=actor, reason=request.reason))

    def promote(self, name: str, request: PromoteRequest, actor: str) -> AttemptOut:
        self._require_known(name)
        return _attempt(self.rollout.promote_canary(name, request.version, actor=actor, reason=request.reason))

    def create_upload(self, name: str, request: UploadRequest) -> UploadResponse:
        if self.settings.function_for(name) is None:
            raise NotFound(f"no function serves model '{name}', so an upload could never go live; "
                           f"this API serves {', '.join(sorted(self.settings.functions))}. A new model needs "
                           "its own function: `lepton add <name> --model model.onnx` writes it")
        existing = self.bucket.version_numbers(name)
        pointer = self.registry.get_live(name)
        highest = max([*existing, pointer.newest_version if pointer else 0])
        version = request.version if request.version is not None else highest + 1
        where = f"s3://{self.settings.bucket}/models/{name}/"
        if version in existing:
            raise Conflict(f"version {version} of '{name}' already exists in {where}; "
                           f"the next free version is {highest + 1}")
        if version <= highest:
            raise Conflict(f"version {version} of '{name}' is not above the highest existing version {highest}; "
                           f"uploads only move forward (next: {highest + 1}); use rollback to serve an older version")
        seconds = self.settings.upload_url_seconds
        uploads = []
        files = [(MODEL_FILE, model_key(name, version), self.settings.max_upload_bytes)]
        if request.tokenizer:
            files.append((TOKENIZER_FILE, version_prefix(name, version) + TOKENIZER_FILE, self.settings.max_upload_bytes))
        if request.reference:
            files.append((REFERENCE_FILE, version_prefix(name, version) + REFERENCE_FILE, self.settings.max_upload_bytes))
        files.append((MANIFEST_FILE, manifest_key(name, version), MAX_MANIFEST_UPLOAD_BYTES))
        for file, key, limit in files:
            url, fields = self.bucket.presign_post(key, seconds, limit)
            uploads.append(PresignedUpload(file=file, key=key, url=url, fields=fields, max_bytes=limit))
        expires = datetime.now(UTC) + timedelta(seconds=seconds)
        return UploadResponse(
            model=name, version=version, bucket=self.settings.bucket, expires_in=seconds,
            expires_at=iso(expires), uploads=uploads,
            instructions=(f"POST {MODEL_FILE} first, " + "".join(f"then {f}, " for f, _, _ in files[1:-1])
                          + f"then {MANIFEST_FILE} (with \"version\": {version}), each as "
                          f"multipart/form-data: the listed fields, then the file as the field 'file', within "
                          f"{seconds // 60} minutes and at most max_bytes. The manifest's arrival starts the "
                          f"deployment; follow it with GET /deployments?model={name}."))

    # -- pieces ------------------------------------------------------------------------------
    def _require_known(self, name: str) -> LivePointer | None:
        """The model's live pointer (None before its first deployment); NotFound if unknown."""
        pointer = None
        if valid_name(name):
            pointer = self.registry.get_live(name)
        if pointer is None and self.settings.function_for(name) is None:
            raise NotFound(f"unknown model '{name}'; this API serves {', '.join(sorted(self.settings.functions))} "
                           "(GET /models lists them)")
        return pointer

    def _require_served(self, name: str) -> LivePointer | None:
        """As `_require_known`, for the open views: a model no function serves is unknown there."""
        if self.settings.function_for(name) is None:
            raise NotFound(f"unknown model '{name}'; this API serves {', '.join(sorted(self.settings.functions))}")
        return self.registry.get_live(name)

    def live_versions(self) -> dict[str, int]:
        """The live version of every model a function serves (those with one)."""
        return {p.model: p.live.version for p in self.registry.list_live() if p.model in self.settings.functions}

    def live_manifests(self, versions: dict[str, int]) -> dict[str, Manifest | None]:
        """Each served model's live manifest (None: none live, or it cannot be read now)."""
        manifests: dict[str, Manifest | None] = {}
        for name in self.settings.functions:
            try:
                manifests[name] = self.bucket.manifest(manifest_key(name, versions[name])) if name in versions else None
            except LeptonError:
                manifests[name] = None
        return manifests

    def _summary(self, name: str, pointer: LivePointer | None, last: Attempt | None) -> ModelSummary:
        canary = pointer.canary if pointer else None
        return ModelSummary(
            name=name,
            function_name=self.settings.function_for(name) or (pointer.function_name if pointer else None),
            live_version=pointer.live.version if pointer else None,
            live_function_version=pointer.live.function_version if pointer else None,
            live_model_source=(pointer.live.model_source or None) if pointer else None,
            canary=CanaryOut(version=canary.release.version, function_version=canary.release.function_version,
                             weight=canary.weight, started_at=canary.started_at,
                             promote_after=canary.promote_after) if canary else None,
            last_deployment=LastDeployment.model_validate(last, from_attributes=True) if last else None,
            updated_at=pointer.updated_at if pointer else None,
            live_receipt=receipt_of(pointer.live.receipt) if pointer else None,
        )

    @staticmethod
    def _version(stored: StoredVersion, pointer: LivePointer | None, last: Attempt | None,
                 receipt: Receipt | None) -> VersionInfo:
        v = stored.version
        if pointer and pointer.live.version == v:
            state = "live"
        elif pointer and pointer.canary and pointer.canary.release.version == v:
            state = "canary"
        elif (pointer and any(r.version == v for r in pointer.history)) or (last and last.outcome.moved):
            state = "previous"  # published once: rollback can serve it again
        elif last:  # rejected, skipped or failed
            state = last.outcome.value
        else:
            state = "pending" if stored.manifest else "incomplete"
        info = _manifest_summary(stored.manifest) if stored.manifest else {}
        return VersionInfo(version=v, state=state, problem=stored.problem, outcome=last.outcome if last else None,
                           reason=last.reason if last else None, receipt=receipt, **info)

    def _alias(self, function_name: str | None, pointer: LivePointer | None) -> tuple[AliasOut | None, list[str]]:
        """The alias as Lambda has it: the registry says what should serve, this says what does."""
        if not function_name:
            return None, []
        try:
            alias = self.functions.alias(function_name)
        except RolloutError as exc:
            return None, [f"cannot read the '{ALIAS}' alias of {function_name}: {exc.message}"]
        out = AliasOut(name=ALIAS, function_version=alias.version, additional_weights=dict(alias.weights))
        notes = []
        if pointer and out.function_version != pointer.live.function_version:
            notes.append(f"the alias serves function version {out.function_version}, but version "
                         f"{pointer.live.version} was promoted as function version {pointer.live.function_version}; "
                         "was the stack redeployed? The next upload or rollback pins it again")
        return out, notes


def _manifest_summary(manifest: Manifest) -> dict[str, object]:
    return {
        "created_at": manifest.created_at or None, "family": manifest.family or None, "sha256": manifest.sha256,
        "size": manifest.size, "quantized": manifest.quantized, "metrics": dict(manifest.metrics),
        "labels": manifest.labels,
        "inputs": [TensorSpecOut.model_validate(t, from_attributes=True) for t in manifest.inputs],
        "outputs": [TensorSpecOut.model_validate(t, from_attributes=True) for t in manifest.outputs],
    }


def _attempt(attempt: Attempt) -> AttemptOut:
    return AttemptOut.model_validate(attempt, from_attributes=True)


def _releases(pointer: LivePointer | None) -> list[Release]:
    """Every release the pointer remembers, oldest first: history, live, canary."""
    if pointer is None:
        return []
    return [*reversed(pointer.history), pointer.live, *((pointer.canary.release,) if pointer.canary else ())]
