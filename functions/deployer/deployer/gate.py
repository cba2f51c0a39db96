"""The validation gate: every check a model version must pass before it may serve, in one place.

`judge` takes what the pipeline read for one upload (the serving function's configuration and
the live pointer) and the model bucket, and returns the decision: accepted, rejected (with the
check that failed and a reason an operator can act on) or skipped (an older version). Cheap
checks on the manifest run before the model is downloaded; the rest run on the bytes: the
hashes here, then admission (lepton_deploy.admission, the one policy `lepton add` applies too:
what the served onnxruntime loads in Lambda), the tokenizer the manifest pins, and the golden
examples. Only transient failures (S3 or the table unavailable) raise, so the upload is retried.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lepton_deploy import admission
from lepton_deploy.errors import Rejected, Skipped
from lepton_deploy.functions import FunctionConfig
from lepton_deploy.model_layer import ModelFiles
from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import LivePointer
from lepton_deploy.replay import task_of, thresholds
from lepton_serving.bucket import ManifestDocument, ModelBucket
from lepton_serving.errors import LimitExceeded, ModelIntegrityError, ObjectMissing
from lepton_serving.manifest import V2_TO_NUMPY, Manifest, ManifestError, TensorSpec, manifest_key
from lepton_serving.store import sha256_hex

#: A function may declare the signature its first version must have (before anything is live).
EXPECTED_SIGNATURE_ENV = "LEPTON_EXPECTED_SIGNATURE"


@dataclass(frozen=True)
class Policy:
    """What this deployer accepts: where from, how large, how slow to load, how good."""

    max_model_bytes: int
    max_load_ms: float
    min_metrics: dict[str, Any] = field(default_factory=dict)
    bucket: str = ""  # the only bucket uploads are accepted from ("" = any)
    known_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submission:
    """One uploaded version and what the pipeline read about where it would go."""

    bucket: str
    key: str
    model: str
    version: int
    function: FunctionConfig | None  # None: no function serves this model
    pointer: LivePointer | None  # what is live now (None before the first version)


@dataclass(frozen=True)
class Expectation:
    """The signature the model's function expects, and where that expectation came from."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    source: str


@dataclass
class GateReport:
    timings_ms: dict[str, float] = field(default_factory=dict)
    load_ms: float = 0.0
    golden_max_error: float = 0.0
    golden_examples: int = 0
    opset: int | None = None  # the default (ai.onnx) domain's
    onnxruntime: str = ""  # the version that loaded it

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings_ms[stage] = round((time.perf_counter() - started) * 1000.0, 3)


@dataclass
class Verdict:
    #: None: accepted, on to the rollout. Else what the attempt records: rejected, skipped, or
    #: promoted (already live: an earlier delivery of the same upload moved it).
    outcome: Outcome | None
    report: GateReport
    reason: str = ""
    check: str = ""
    manifest: Manifest | None = None
    manifest_sha256: str = ""  # of the manifest bytes judged: the function pins exactly these
    function_version: str = ""  # when already live: the function version serving it
    files: ModelFiles | None = field(default=None, repr=False)  # the bytes judged, for the model layer

    @property
    def accepted(self) -> bool:
        return self.outcome is None


def judge(submission: Submission, policy: Policy, bucket: ModelBucket) -> Verdict:
    """Every check, in order; the first that fails decides."""
    report = GateReport()
    try:
        document, files = _inspect(submission, policy, bucket, report)
    except Rejected as exc:
        return Verdict(Outcome.REJECTED, report, exc.message, exc.check)
    except AlreadyLive as exc:
        return Verdict(Outcome.PROMOTED, report, exc.message, function_version=exc.function_version)
    except Skipped as exc:
        return Verdict(Outcome.SKIPPED, report, exc.message)
    return Verdict(None, report, manifest=document.manifest, manifest_sha256=document.sha256, files=files)


def _inspect(sub: Submission, policy: Policy, bucket: ModelBucket, report: GateReport
             ) -> tuple[ManifestDocument, ModelFiles]:
    check_target(sub, policy)
    with report.timed("manifest"):
        document = read_manifest(bucket, sub.key)
    manifest = document.manifest
    check_identity(manifest, sub.model, sub.version)
    check_replay_thresholds(manifest)
    check_newer(sub, manifest)
    check_metrics(manifest, policy.min_metrics)
    check_declared_size(manifest, policy)
    assert sub.function is not None  # check_target
    check_function_bucket(sub.function, sub.bucket)
    check_expected_signature(manifest, expectation(sub, bucket))
    with report.timed("reference"):
        check_reference(manifest, read_pinned(bucket, manifest.reference_key, "reference", policy))
    with report.timed("download"):
        data = read_model(bucket, manifest, policy)
        tokenizer = read_pinned(bucket, manifest.tokenizer_key, "tokenizer", policy)
    validate(manifest, data, policy, report, tokenizer)
    return document, ModelFiles(data, document.data, tokenizer)


# -- checks on where the upload is going -------------------------------------------------------
def check_target(sub: Submission, policy: Policy) -> None:
    if policy.bucket and sub.bucket != policy.bucket:
        raise Rejected("bucket", f"uploads are accepted from bucket {policy.bucket}, not {sub.bucket}")
    if sub.function is None:
        raise Rejected("function", f"no function serves model '{sub.model}'; this deployer knows "
                                   f"{', '.join(sorted(policy.known_models)) or 'none'} (LEPTON_FUNCTIONS)")


class AlreadyLive(Skipped):
    """This very upload is live already: an earlier delivery moved the alias and wrote the pointer,
    then stopped (a timeout, a crash) before it recorded the attempt."""

    def __init__(self, message: str, function_version: str):
        super().__init__(message)
        self.function_version = function_version


def check_newer(sub: Submission, manifest: Manifest) -> None:
    pointer = sub.pointer
    if pointer and pointer.live.version == sub.version and pointer.live.sha256 == manifest.sha256:
        raise AlreadyLive(f"version {sub.version} is already live as function version "
                          f"{pointer.live.function_version}: an earlier delivery of this upload moved the alias "
                          "and stopped before recording it; recorded now", pointer.live.function_version)
    if pointer and sub.version <= pointer.newest_version:
        raise Skipped(f"version {sub.version} is not newer than version {pointer.newest_version} "
                      f"({'in canary' if pointer.canary else 'live'}); an upload never moves a model "
                      "backwards, use rollback")


def check_function_bucket(function: FunctionConfig, bucket: str) -> None:
    served = function.pins.bucket
    if served and served != bucket:
        raise Rejected("bucket", f"{function.name} serves models from bucket {served}, not {bucket}")


def expectation(sub: Submission, bucket: ModelBucket) -> Expectation | None:
    """The live version's signature, else the one the function declares, else none (a first version)."""
    if sub.pointer is not None:
        live = sub.pointer.live
        live_manifest = bucket.manifest(manifest_key(sub.model, live.version))
        return Expectation(live_manifest.inputs, live_manifest.outputs, f"the live version {live.version}")
    assert sub.function is not None
    raw = sub.function.environment.get(EXPECTED_SIGNATURE_ENV, "")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
        return Expectation([TensorSpec.from_dict(t) for t in parsed["inputs"]],
                           [TensorSpec.from_dict(t) for t in parsed["outputs"]],
                           f"{EXPECTED_SIGNATURE_ENV} of {sub.function.name}")
    except (ValueError, KeyError, TypeError, ManifestError) as exc:
        raise Rejected("signature", f"{EXPECTED_SIGNATURE_ENV} of {sub.function.name} is not "
                                    '{"inputs": [...], "outputs": [...]}: ' + str(exc)) from exc


# -- reads the gate judges ------------------------------------------------------------------------
def read_manifest(bucket: ModelBucket, key: str) -> ManifestDocument:
    try:
        return bucket.manifest_document(key)
    except ModelIntegrityError as exc:
        raise Rejected("manifest", exc.message) from exc
    except ObjectMissing as exc:
        raise Rejected("manifest", f"the manifest cannot be read: {exc.message}") from exc


def read_pinned(bucket: ModelBucket, key: str | None, check: str, policy: Policy) -> bytes | None:
    """A file the manifest pins beside the model (its tokenizer.json, its reference.json; None
    when it pins none), refused by ``check`` when it is missing or over the size budget."""
    if key is None:
        return None
    try:
        return bucket.read(key, max_bytes=policy.max_model_bytes)
    except ObjectMissing as exc:
        raise Rejected(check, f"{exc.message}; the manifest pins a {key.rsplit('/', 1)[-1]}: upload it before "
                              "the manifest") from exc
    except LimitExceeded as exc:
        raise Rejected(check, exc.message) from exc


def read_model(bucket: ModelBucket, manifest: Manifest, policy: Policy) -> bytes:
    try:
        return bucket.model_bytes(manifest, max_bytes=policy.max_model_bytes)
    except ObjectMissing as exc:
        raise Rejected("model_file", f"{exc.message}; upload the model before its manifest") from exc
    except LimitExceeded as exc:
        raise Rejected("size", exc.message) from exc


# -- checks on the manifest alone (before downloading the model) ------------------------------
def check_identity(manifest: Manifest, model: str, version: int) -> None:
    if manifest.name != model or manifest.version != version:
        raise Rejected("manifest", f"the manifest describes {manifest.name} v{manifest.version} but was "
                                   f"uploaded as models/{model}/{version}/manifest.json")


def check_replay_thresholds(manifest: Manifest) -> None:
    """The replay gate's thresholds the manifest sets apply to its task and are in range."""
    try:
        thresholds(manifest, task_of(manifest)[0])
    except ValueError as exc:
        raise Rejected("manifest", str(exc)) from exc


def check_metrics(manifest: Manifest, minimums: dict[str, Any]) -> None:
    for metric, bound in sorted(minimums.items()):
        low, high = (bound.get("min"), bound.get("max")) if isinstance(bound, dict) else (bound, None)
        value = manifest.metrics.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Rejected("metrics", f"the manifest reports no numeric '{metric}' metric; "
                                      f"{manifest.name} requires {_bound_text(metric, low, high)}")
        if low is not None and value < low:
            raise Rejected("metrics", f"{metric} {value:g} is below the minimum {low:g} for {manifest.name}")
        if high is not None and value > high:
            raise Rejected("metrics", f"{metric} {value:g} is above the maximum {high:g} for {manifest.name}")


def check_declared_size(manifest: Manifest, policy: Policy) -> None:
    if manifest.size > policy.max_model_bytes:
        raise Rejected("size", f"the model is {manifest.size:,} bytes; the budget is {policy.max_model_bytes:,} "
                               "bytes (LEPTON_MAX_MODEL_BYTES)")


def check_expected_signature(manifest: Manifest, expected: Expectation | None) -> None:
    if expected is None:
        return
    problems = (admission.signature_diff("input", expected.inputs, manifest.inputs)
                + admission.signature_diff("output", expected.outputs, manifest.outputs))
    if problems:
        raise Rejected("signature", f"the signature differs from {expected.source}: {'; '.join(problems)}")


def check_reference(manifest: Manifest, data: bytes | None) -> None:
    """The reference profile the manifest pins, if it pins one (admission: the same check as `lepton add`)."""
    if manifest.reference is not None:
        admission.check_reference(manifest, data)


# -- checks on the model file --------------------------------------------------------------------
def validate(manifest: Manifest, data: bytes, policy: Policy, report: GateReport,
             tokenizer: bytes | None = None) -> admission.Admitted:
    with report.timed("integrity"):
        check_bytes(manifest, data, policy)
    admitted = admission.admit(data, manifest, stage=report.timed)
    report.load_ms = admitted.load_ms
    report.opset = admitted.opsets.get("", admitted.opsets.get("ai.onnx"))
    report.onnxruntime = admission.runtime_version()
    if report.load_ms > policy.max_load_ms:
        raise Rejected("load_time", f"onnxruntime took {report.load_ms:.0f} ms to load the model; the budget is "
                                    f"{policy.max_load_ms:.0f} ms (LEPTON_MAX_LOAD_MS)")
    if manifest.tokenizer is not None:
        with report.timed("tokenizer"):
            admission.check_tokenizer(manifest, tokenizer)
    with report.timed("golden"):
        check_golden(manifest, admitted.session, report)
    return admitted


def check_bytes(manifest: Manifest, data: bytes, policy: Policy) -> None:
    actual = sha256_hex(data)
    if actual != manifest.sha256:
        raise Rejected("sha256", f"{manifest.model_key} has sha256 {actual[:16]}…, the manifest says "
                                 f"{manifest.sha256[:16]}…; upload the file the manifest describes")
    if len(data) > policy.max_model_bytes:
        raise Rejected("size", f"the model is {len(data):,} bytes; the budget is {policy.max_model_bytes:,} bytes")
    if len(data) != manifest.size:
        raise Rejected("size", f"the model is {len(data):,} bytes, the manifest says {manifest.size:,}")


def check_golden(manifest: Manifest, session: Any, report: GateReport) -> None:
    if not manifest.golden:
        raise Rejected("golden", "the manifest has no golden examples; the deployer cannot verify the model's outputs")
    specs = {s.name: s for s in manifest.inputs}
    names = [o.name for o in session.get_outputs()]
    tolerance = float(manifest.golden_tolerance)
    for index, example in enumerate(manifest.golden):
        feed = _feed(index, example.inputs, specs)
        try:
            produced = dict(zip(names, session.run(names, feed)))
        except Exception as exc:  # onnxruntime's untyped errors
            raise Rejected("golden", f"golden example {index} does not run: {str(exc).splitlines()[0][:200]}") from exc
        for name, expected_values in example.outputs.items():
            if name not in produced:
                raise Rejected("golden", f"golden example {index} expects output '{name}'; the model returns "
                                         f"{', '.join(names)}")
            error = _max_error(produced[name], expected_values, index, name)
            report.golden_max_error = max(report.golden_max_error, error)
            if error > tolerance:
                raise Rejected("golden", f"golden example {index}, output '{name}': max abs difference "
                                         f"{error:.3g} is above the manifest's tolerance {tolerance:g}")
    report.golden_examples = len(manifest.golden)


# -- helpers -------------------------------------------------------------------------------------
def _feed(index: int, inputs: dict[str, list], specs: dict[str, TensorSpec]) -> dict[str, np.ndarray]:
    if set(inputs) != set(specs):
        raise Rejected("golden", f"golden example {index} gives inputs {sorted(inputs)}; the model takes {sorted(specs)}")
    try:
        return {n: np.asarray(v, dtype=V2_TO_NUMPY[specs[n].datatype]) for n, v in inputs.items()}
    except (TypeError, ValueError) as exc:
        raise Rejected("golden", f"golden example {index} has inputs that do not fit the signature: {exc}") from exc


def _max_error(actual: np.ndarray, expected: list, index: int, name: str) -> float:
    try:
        wanted = np.asarray(expected, dtype=actual.dtype if actual.dtype.kind not in "fc" else np.float64)
    except (TypeError, ValueError) as exc:
        raise Rejected("golden", f"golden example {index}, output '{name}' is not a tensor: {exc}") from exc
    if wanted.shape != actual.shape:
        raise Rejected("golden", f"golden example {index}, output '{name}': shape {list(actual.shape)}, "
                                 f"the manifest expects {list(wanted.shape)}")
    if actual.dtype.kind in "fc":
        return float(np.max(np.abs(actual.astype(np.float64) - wanted), initial=0.0))
    return 0.0 if np.array_equal(actual, wanted) else float("inf")


def _bound_text(metric: str, low: Any, high: Any) -> str:
    parts = ([f"{metric} >= {low}"] if low is not None else []) + ([f"{metric} <= {high}"] if high is not None else [])
    return " and ".join(parts) or metric
