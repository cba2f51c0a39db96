"""What the open routes show of the manifests and the deployments table, and what they leave out.

The playground page is served to anyone who can reach the API, so it can only read open routes.
These build their answers from an allow-list: the fields a request form needs from a manifest,
and of a deployment attempt its model, version, outcome, check, time and reason. A reason can
quote the bucket, a function or an ARN ("uploads are accepted from bucket X"), so those are
replaced by placeholders. Who made a move, function versions and upload sources stay behind IAM
(`GET /deployments`, `lepton deployments`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace

from lepton_deploy.registry import Attempt, DriftStatus, LivePointer
from lepton_serving.manifest import Manifest

from control.schemas import ModelCard, PublicAttempt, PublicCanary, PublicDrift, PublicModel

#: Manifest preprocessing fields a form may use; a vocabulary or a data seed is not among them.
PUBLIC_PREPROCESSING = ("feature_names", "height", "width", "max_value", "ink", "num_users", "num_items",
                        "num_classes", "latent_dim", "sequence_length", "synthetic")
MAX_EXAMPLE_BYTES = 32 * 1024
HIDDEN = ("Who made each move, the Lambda function versions and the upload sources are not shown here: "
          "they need IAM. Run `lepton deployments` (or GET /deployments, SigV4-signed) to see them.")

_ARN = re.compile(r"arn:aws[a-z-]*:[^\s,;'\")]+")
_S3_URI = re.compile(r"s3://[^/\s]+")
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")


def model_card(manifest: Manifest) -> ModelCard:
    prep = manifest.preprocessing or {}
    example = manifest.golden[0].inputs if manifest.golden else None
    if example is not None and len(json.dumps(example)) > MAX_EXAMPLE_BYTES:
        example = None
    return ModelCard(name=manifest.name, version=manifest.version, family=manifest.family or None,
                     labels=manifest.labels, preprocessing={k: prep[k] for k in PUBLIC_PREPROCESSING if k in prep},
                     metrics=dict(manifest.metrics), example=example, created_at=manifest.created_at or None)


def public_model(name: str, pointer: LivePointer | None, drift: PublicDrift | None = None) -> PublicModel:
    canary = pointer.canary if pointer else None
    return PublicModel(
        name=name, live_version=pointer.live.version if pointer else None,
        canary=PublicCanary(version=canary.release.version, weight=canary.weight, started_at=canary.started_at,
                            promote_after=canary.promote_after) if canary else None,
        updated_at=(pointer.updated_at or None) if pointer else None, drift=drift)


class Redactor:
    """Replaces the names of this deployment's resources, and any ARN, S3 bucket or account id."""

    def __init__(self, bucket: str, table: str, functions: Iterable[str]):
        named = [("<bucket>", bucket), ("<table>", table), *(("<function>", f) for f in functions)]
        # Longest first, so a name that contains another is replaced whole.
        self.names = sorted(((p, n) for p, n in named if n), key=lambda pair: -len(pair[1]))

    def __call__(self, text: str, also: Iterable[str] = ()) -> str:
        text = _ARN.sub("<arn>", text)
        text = _S3_URI.sub("s3://<bucket>", text)
        for placeholder, name in [*self.names, *(("<bucket>", n) for n in also if n)]:
            text = text.replace(name, placeholder)
        return _ACCOUNT.sub("<account>", text)

    def drift(self, status: DriftStatus) -> PublicDrift:
        """A drift check's level and message (a message can quote where a profile is kept)."""
        return PublicDrift.model_validate(replace(status, message=self(status.message)), from_attributes=True)

    def attempt(self, attempt: Attempt) -> PublicAttempt:
        return PublicAttempt(model=attempt.model, version=attempt.version, outcome=attempt.outcome,
                             check=attempt.check, created_at=attempt.created_at,
                             reason=self(attempt.reason, also=[str(attempt.source.get("bucket") or "")]))
