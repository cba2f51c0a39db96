"""The model a function version is pinned to: the one type that reads and writes those
environment keys.

The deployer writes them into ``$LATEST`` before it publishes a version (lepton_deploy/rollout.py);
a cold start reads them (config.py); the gate, a rollback to a version that fell out of the
live pointer's history and the local stack's layer mounts read them back from a published
version's configuration. With no key pinned, a function asks the deployments table which version
is live (`DeploymentsTable.live_model_ref`, which answers with the same type).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelPins:
    bucket: str = ""  # the model bucket (the template sets it; a promotion writes it again)
    key: str = ""  # models/<name>/<version>/model.onnx
    sha256: str = ""  # what the model's bytes must hash to
    version: str = ""
    manifest_sha256: str = ""  # what the validated manifest's bytes must hash to

    #: Each pin's environment variable.
    ENV: ClassVar[dict[str, str]] = {
        "bucket": "LEPTON_MODEL_BUCKET",
        "key": "LEPTON_MODEL_KEY",
        "sha256": "LEPTON_MODEL_SHA256",
        "version": "LEPTON_MODEL_VERSION",
        "manifest_sha256": "LEPTON_MANIFEST_SHA256",
    }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ModelPins:
        """The pins as an environment holds them (hashes in lower case); `problems` judges them."""
        values = {name: str(env.get(variable, "")).strip() for name, variable in cls.ENV.items()}
        return cls(**{**values, "sha256": values["sha256"].lower(),
                      "manifest_sha256": values["manifest_sha256"].lower()})

    def to_env(self) -> dict[str, str]:
        """The pins that are set, as environment entries."""
        return {self.ENV[f.name]: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def written_over(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` pinned to this model: every pin set here replaces the old one, and a model pin
        left empty is removed, so no earlier version's value survives (an empty bucket keeps the
        template's)."""
        updated = {k: v for k, v in env.items() if k == self.ENV["bucket"] or k not in self.ENV.values()}
        return {**updated, **self.to_env()}

    @property
    def pinned(self) -> bool:
        """A model is named: where to read it is known without asking the deployments table."""
        return bool(self.bucket and self.key)

    def problems(self) -> list[str]:
        """What makes these pins unusable, each naming its variable (empty when they are fine)."""
        found = []
        for name in ("sha256", "manifest_sha256"):
            value = getattr(self, name)
            if value and not _SHA256.match(value):
                found.append(f"{self.ENV[name]} must be 64 hexadecimal digits (a sha256), got {value[:80]!r}")
        if self.version and not (self.version.isascii() and self.version.isdigit() and int(self.version) > 0):
            found.append(f"{self.ENV['version']} must be a positive whole number, got {self.version[:80]!r}")
        if self.key and not self.bucket:
            found.append(f"{self.ENV['key']} names a model but {self.ENV['bucket']} is not set")
        if self.key and not self.sha256:
            found.append(f"{self.ENV['key']} names a model but {self.ENV['sha256']} does not pin its bytes")
        return found
