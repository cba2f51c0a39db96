"""Request and response bodies of the control API (they are also its OpenAPI schemas).

What the API returns of the deployment core's records (an attempt, a canary, a tensor) is
derived from the core's own dataclasses by `derived`: their fields, types and defaults, so a
field the core gains reaches the API, and none is dropped by a copy that was not updated.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, get_type_hints

from annotated_types import Ge, Le
from lepton_deploy.outcomes import Outcome
from lepton_deploy.receipt import Receipt
from lepton_deploy.registry import Attempt, Canary, DriftStatus, Release
from lepton_serving.manifest import TensorSpec
from lepton_serving.receipts import PUBLIC_FIELDS
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, create_model


def _whole(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema's "integer" says), 3.5 is not."""
    return int(value) if type(value) is float and value.is_integer() else value


# Versions are positive integers; strict otherwise, so "3", 3.5 or true is refused, not guessed at.
Version = Annotated[int, Strict(), Ge(1), Le(999_999_999), BeforeValidator(_whole)]


class _Request(BaseModel):
    # A misspelt field ("verison") must fail loudly, not roll back to a default target.
    model_config = ConfigDict(extra="forbid", strict=True)


class RollbackRequest(_Request):
    version: Version | None = Field(default=None,
                                    description="Version to go back to; default: the version live before this one.")
    reason: str = Field(default="", max_length=500, description="Recorded with the attempt.")


class PromoteRequest(_Request):
    version: Version | None = Field(default=None, description="Only promote if the running canary is this version.")
    reason: str = Field(default="", max_length=500)


class UploadRequest(_Request):
    version: Version | None = Field(default=None,
                                    description="Version to upload; default: 1 + the highest existing version.")
    tokenizer: bool = Field(default=False, description="Also presign tokenizer.json (a model whose manifest "
                                                       "pins one, added with `lepton add --tokenizer`).")
    reference: bool = Field(default=False, description="Also presign reference.json (a model whose manifest pins "
                                                       "a reference profile, for the drift check).")


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong and, where possible, what to do about it.")
    detail: list[dict[str, Any]] | None = Field(default=None, description="A schema violation's problems, one "
                                                                         "by one: where (loc), what (msg), which rule (type).")


def derived(name: str, *sources: type, only: Iterable[str] | None = None, describe: Mapping[str, str] | None = None,
            doc: str = "") -> type[BaseModel]:
    """A response schema with the fields of the ``sources`` dataclasses (every field, or those in
    ``only``), in their order, with their types and defaults. Build it from the core's object
    with ``model_validate(obj, from_attributes=True)``."""
    fields: dict[str, Any] = {}
    for source in sources:
        hints = get_type_hints(source)
        for field in dataclasses.fields(source):
            if (only is not None and field.name not in only) or field.name in fields:
                continue
            info: dict[str, Any] = {"description": (describe or {}).get(field.name)}
            if field.default is not dataclasses.MISSING:
                info["default"] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                info["default_factory"] = field.default_factory
            fields[field.name] = (hints[field.name], Field(**info))
    return create_model(name, __doc__=doc or None, **fields)


TensorSpecOut = derived("TensorSpecOut", TensorSpec)

_CANARY = {"weight": "Share of requests the canary version answers (0..1)."}
#: A canary's version and function version (its release's) with its weight and times.
CanaryOut = derived("CanaryOut", Release, Canary, only=("version", "function_version", "weight", "started_at",
                                                       "promote_after"), describe=_CANARY)

LastDeployment = derived("LastDeployment", Attempt, only=("version", "outcome", "reason", "actor", "created_at"))


class ModelSummary(BaseModel):
    name: str
    function_name: str | None = Field(description="The Lambda function serving the model (LEPTON_FUNCTIONS).")
    live_version: int | None = Field(description="None until a version has been promoted.")
    live_function_version: str | None = None
    live_model_source: Literal["layer", "s3"] | None = Field(
        default=None, description="Where the live version's cold starts read the model: its function version's "
                                  "layer, or the model bucket (a model over the layer budget).")
    canary: CanaryOut | None = None
    last_deployment: LastDeployment | None = None
    updated_at: str | None = None
    live_receipt: Receipt | None = Field(
        default=None, description="The live version's receipt: its cold start, warm latency, memory and cost "
                                  "as the deployer measured them when it published it (docs/lifecycle.md).")


class ModelsResponse(BaseModel):
    models: list[ModelSummary]


class VersionInfo(BaseModel):
    version: int
    state: Literal["live", "canary", "previous", "rejected", "skipped", "failed", "pending", "incomplete"] = Field(
        description="live/canary: serving; previous: was live, can be rolled back to; rejected/skipped/failed: "
                    "the deployer's last decision; pending: complete upload, no decision yet; "
                    "incomplete: no manifest.json yet (or an unreadable one)")
    created_at: str | None = None
    family: str | None = None
    sha256: str | None = None
    size: int | None = None
    quantized: bool | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    labels: list[str] | None = None
    inputs: list[TensorSpecOut] = Field(default_factory=list)
    outputs: list[TensorSpecOut] = Field(default_factory=list)
    outcome: Outcome | None = Field(default=None, description="The newest deployment attempt's outcome for this version.")
    reason: str | None = None
    problem: str | None = Field(default=None, description="Why the manifest could not be read, when it could not.")
    receipt: Receipt | None = Field(default=None, description="What the version measured when it was published "
                                                              "(none if it never reached that stage).")


class AliasOut(BaseModel):
    name: str
    function_version: str
    additional_weights: dict[str, float] = Field(default_factory=dict)


class ModelDetail(ModelSummary):
    versions: list[VersionInfo] = Field(description="Every version in the bucket, newest first.")
    manifest: VersionInfo | None = Field(default=None, description="The live version's manifest summary.")
    alias: AliasOut | None = Field(default=None, description="The function's `live` alias as Lambda reports it.")
    notes: list[str] = Field(default_factory=list)


AttemptOut = derived("AttemptOut", Attempt, doc="One deployment attempt, every field the registry records.", describe={
    "check": "The gate check that refused the version, when one did.",
    "source": "bucket, key, etag, version_id of the upload",
    "model_source": "A promotion's choice: layer (the model travels in the function version) or s3 (fetched at "
                    "cold start).",
    "checks": "The checks on the published version, in order (pre-traffic, the replay of captured requests, "
              "the receipt), each {name, outcome: passed | failed | skipped, summary, figures, ms}.",
    "receipt": "What the version measured when this attempt published it (its cold start, warm p50/p99, "
               "memory, cost; the fields of Receipt), or {} when it was not measured.",
})


class ReplayRequest(_Request):
    version: Version = Field(description="A published version of the model, compared with the live one.")
    requests: Annotated[int, Strict(), BeforeValidator(_whole)] = Field(
        default=200, ge=1, le=1000, description="How many of the live version's newest captured requests to send.")


class ReplayOut(BaseModel):
    model: str
    version: int
    function_version: str = Field(description="The published function version the requests were sent to.")
    live_version: int
    outcome: str = Field(description="passed, failed or skipped, judged as the deployer's replay gate judges")
    reason: str = Field(description="The figure and its threshold, or why nothing was compared.")
    figures: dict[str, Any] = Field(default_factory=dict)
    cases: list[dict[str, Any]] = Field(default_factory=list, description="The first disagreeing cases: inputs, "
                                                                          "live answer, this version's answer.")


class DeploymentsResponse(BaseModel):
    deployments: list[AttemptOut]


class PresignedUpload(BaseModel):
    file: str
    key: str
    method: Literal["POST"] = "POST"
    url: str
    fields: dict[str, str] = Field(description="Send these form fields, then the file as the last field, `file` "
                                               "(multipart/form-data): S3's POST policy, signed.")
    max_bytes: int = Field(description="The largest file the policy lets S3 take; a larger one is refused "
                                       "with EntityTooLarge.")


class UploadResponse(BaseModel):
    model: str
    version: int
    bucket: str
    expires_in: int
    expires_at: str
    uploads: list[PresignedUpload] = Field(description="In upload order: model.onnx first (then tokenizer.json "
                                                       "when asked for), manifest.json last.")
    instructions: str


# -- the V2 protocol's server-level routes ---------------------------------------------------------
class ServerMetadata(BaseModel):
    name: str = Field(examples=["lepton"])
    version: str
    extensions: list[str] = Field(description="The V2 protocol extensions every model function implements.")


class RepositoryIndexRequest(_Request):
    ready: bool = Field(default=False, description="Only the models that are ready to serve.")


class RepositoryModel(BaseModel):
    name: str
    version: str | None = Field(default=None, description="The live version, if one is deployed.")
    state: Literal["READY", "UNAVAILABLE"]
    reason: str = ""


class ServerLive(BaseModel):
    live: bool


class ServerReady(BaseModel):
    ready: bool


# -- the open routes behind the playground: what anyone may see ---------------------------------------
PUBLIC_RECEIPT_TEXT = (f"The live version's receipt as the deployer measured it at publish: {', '.join(PUBLIC_FIELDS)} "
                       "(sources says where each figure came from); not its sha256 or function version.")


class ModelCard(BaseModel):
    """What a caller needs to build a request, from the live version's manifest. Nothing about
    where the model is kept (bucket, keys, functions) and nothing large (no vocabulary)."""

    name: str
    version: int = Field(description="The live version this card describes.")
    family: str | None = None
    labels: list[str] | None = Field(default=None, description="One label per score, in order.")
    preprocessing: dict[str, Any] = Field(
        default_factory=dict, description="The manifest's preprocessing fields a request form needs "
                                          "(feature_names, image size, id ranges, ...); the rest is left out.")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Held-out metrics from training.")
    example: dict[str, Any] | None = Field(
        default=None, description="The first golden example's inputs, in the graph's own terms (what the "
                                  "deployer replays); left out when larger than 32 KB.")
    created_at: str | None = None
    receipt: dict[str, Any] | None = Field(default=None, description=PUBLIC_RECEIPT_TEXT)


PublicCanary = derived("PublicCanary", Release, Canary, only=("version", "weight", "started_at", "promote_after"),
                       describe=_CANARY)


#: A model's newest drift check (the drift function's), without the per-feature figures.
PublicDrift = derived("PublicDrift", DriftStatus,
                      only=("version", "level", "message", "checked_at", "reference", "worst_feature", "worst_psi"),
                      describe={"version": "The version that was checked (the live one at the time).",
                                "message": "One line: what the check found, resource names replaced.",
                                "reference": "What it was compared with: training, reference data, first "
                                             "captured window ('' when there was none)."})


class PublicModel(BaseModel):
    name: str
    live_version: int | None = Field(description="None until a version has been promoted.")
    canary: PublicCanary | None = None
    updated_at: str | None = None
    receipt: dict[str, Any] | None = Field(default=None, description=PUBLIC_RECEIPT_TEXT)
    drift: PublicDrift | None = Field(default=None, description="The newest drift check (the drift function's).")


#: What anyone may see of an attempt (control.public): no actor, function version or source.
class PublicCheck(BaseModel):
    name: str
    outcome: str
    summary: str = Field(description="Its figure and limit (or why it was skipped), names replaced as in reason.")


class PublicAttempt(derived("PublicAttemptFields", Attempt,
                            only=("model", "version", "outcome", "check", "reason", "created_at"),
                            describe={"check": "The gate check that refused the version, when one did.",
                                      "reason": "The recorded reason, with bucket, table and function names, ARNs "
                                                "and account ids replaced by placeholders."})):
    checks: list[PublicCheck] = Field(default_factory=list, description="The checks on the published version: "
                                                                        "pre-traffic, the replay of captured traffic; "
                                                                        "no figures.")


class PublicStatus(BaseModel):
    models: list[PublicModel]
    deployments: list[PublicAttempt] = Field(description="The newest deployment attempts of every model.")
    hidden: str = Field(description="What this open view leaves out, and where to see it.")


# -- batch scoring jobs (control/batch_jobs.py) ----------------------------------------------------
S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/.+$"


class BatchJobRequest(_Request):
    input: str = Field(pattern=S3_URI, max_length=1100,
                       description="The rows: one JSON Lines (.jsonl) or CSV (.csv) object in the stack's batch bucket.")
    format: Literal["jsonl", "csv"] | None = Field(default=None, description="Default: from the key's suffix.")
    max_concurrency: Annotated[int, Ge(1), Le(10_000)] | None = Field(
        default=None, description="Batches in flight at once; at most (and by default) the stack's BatchMaxConcurrency.")
    batch_size: Annotated[int, Ge(1), Le(10_000)] | None = Field(
        default=None, description="Rows per invocation; by default the pinned version's batch limit, at most 16 times it.")


class BatchCounts(BaseModel):
    read: int = Field(description="Rows the map run has read so far (all of them once it ends).")
    scored: int = Field(description="Rows answered (outputs or the row's own error), written under the output prefix.")
    failed: int = Field(description="Rows in batches that failed after retries.")
    pending: int
    running: int


class BatchJobOut(BaseModel):
    job: str = Field(description="The job id, also the Step Functions execution's name.")
    model: str
    model_version: str = Field(description="The model version the pinned function version serves.")
    function_version: str = Field(description="The function version scoring every row: the live one at the start.")
    status: str = Field(description="RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED (the execution's).")
    input: str
    format: str
    output: str = Field(description="s3:// prefix of the answers: rows/part-<first line>.jsonl, and results/.")
    batch_size: int
    max_concurrency: int
    started_at: str = ""
    stopped_at: str = ""
    counts: BatchCounts | None = None
    error: str = ""
    execution_arn: str = ""


class BatchJobsResponse(BaseModel):
    jobs: list[BatchJobOut]


class BatchInputRequest(_Request):
    filename: str = Field(pattern=r"^[A-Za-z0-9._\-]{1,200}\.(jsonl|ndjson|csv)$",
                          description="The local file's name; its suffix says the format.")


class BatchInputUpload(BaseModel):
    input: str = Field(description="The s3:// URI to start the job with once the upload is done.")
    upload: PresignedUpload
