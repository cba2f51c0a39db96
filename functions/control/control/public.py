"""What the open routes show of the manifests and the deployments table, and what they leave out.

The playground page is served to anyone who can reach the API, so it can only read open routes.
These build their answers from an allow-list: the fields a request form needs from a manifest,
the live version's receipt without its sha256 and function version, and of a deployment attempt
its model, version, outcome, check, time and reason. A reason can
quote the bucket, a function or an ARN ("uploads are accepted from bucket X"), so those are
replaced by placeholders (lepton_serving.redaction: the one Redactor every open route uses); so
are the checks' summaries (a replay's names where its disagreeing cases are), and their figures
are left out. Who made a move, function versions and upload sources stay behind IAM
(`GET /deployments`, `lepton deployments`).
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from lepton_deploy.receipt import receipt_of
from lepton_deploy.registry import Attempt, DriftStatus, LivePointer
from lepton_serving.manifest import Manifest
from lepton_serving.receipts import public_view
from lepton_serving.redaction import Redactor

from control.schemas import ModelCard, PublicAttempt, PublicCanary, PublicCheck, PublicDrift, PublicModel

#: Manifest preprocessing fields a form may use; a vocabulary or a data seed is not among them.
PUBLIC_PREPROCESSING = ("feature_names", "height", "width", "max_value", "ink", "num_users", "num_items",
                        "num_classes", "latent_dim", "sequence_length", "synthetic")
MAX_EXAMPLE_BYTES = 32 * 1024
HIDDEN = ("Who made each move, the Lambda function versions and the upload sources are not shown here: "
          "they need IAM. Run `lepton deployments` (or GET /deployments, SigV4-signed) to see them.")


def model_card(manifest: Manifest, receipt: dict[str, Any] | None = None) -> ModelCard:
    prep = manifest.preprocessing or {}
    example = manifest.golden[0].inputs if manifest.golden else None
    if example is not None and len(json.dumps(example)) > MAX_EXAMPLE_BYTES:
        example = None
    return ModelCard(name=manifest.name, version=manifest.version, family=manifest.family or None,
                     labels=manifest.labels, preprocessing={k: prep[k] for k in PUBLIC_PREPROCESSING if k in prep},
                     metrics=dict(manifest.metrics), example=example, created_at=manifest.created_at or None,
                     receipt=public_receipt(receipt))


def public_receipt(receipt: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored receipt through the allow-list (lepton_serving/receipts.py); None when there is none."""
    found = receipt_of(receipt)
    return public_view(found.to_dict()) if found is not None else None


def public_model(name: str, pointer: LivePointer | None, drift: PublicDrift | None = None) -> PublicModel:
    canary = pointer.canary if pointer else None
    return PublicModel(
        name=name, live_version=pointer.live.version if pointer else None,
        canary=PublicCanary(version=canary.release.version, weight=canary.weight, started_at=canary.started_at,
                            promote_after=canary.promote_after) if canary else None,
        updated_at=(pointer.updated_at or None) if pointer else None,
        receipt=public_receipt(pointer.live.receipt) if pointer else None, drift=drift)


def public_drift(redact: Redactor, status: DriftStatus) -> PublicDrift:
    """A drift check's level and message (a message can quote where a profile is kept)."""
    return PublicDrift.model_validate(replace(status, message=redact(status.message)), from_attributes=True)


def public_attempt(redact: Redactor, attempt: Attempt) -> PublicAttempt:
    """An attempt as an open route shows it: the allow-listed fields, the reason and each check's
    summary redacted."""
    also = [str(attempt.source.get("bucket") or "")]
    return PublicAttempt(model=attempt.model, version=attempt.version, outcome=attempt.outcome,
                         check=attempt.check, created_at=attempt.created_at, reason=redact(attempt.reason, also=also),
                         checks=[PublicCheck(name=str(c.get("name", "")), outcome=str(c.get("outcome", "")),
                                             summary=redact(str(c.get("summary", "")), also=also))
                                 for c in attempt.checks])
