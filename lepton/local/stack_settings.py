"""What a local stack is asked for: where it runs, what it serves, how it logs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .function_log import BACKUPS, MAX_BYTES
from .issuer import LOCAL_AUDIENCE, LocalIssuer

#: Template parameters the local stack always sets: every version is promoted at once.
LOCAL_PARAMETERS = {"CanaryWeight": "0"}


@dataclass(frozen=True)
class StackSettings:
    root: Path = field(default_factory=Path.cwd)
    host: str = "127.0.0.1"
    api_port: int = 3000
    aws_port: int = 4566
    state_dir: Path | None = None
    bucket: str = "lepton-models"
    train_missing: bool = True
    models: list[str] | None = None  # serve only these (default: every model function)
    external_aws: bool = False  # a moto server (or other endpoint) already runs at aws_port
    inference_auth: str | None = None  # the template's InferenceAuth: NONE, IAM or JWT (default: its default)
    overrides: dict[str, str] = field(default_factory=dict)  # other template parameters, as sam deploy takes them
    log_max_bytes: int = MAX_BYTES  # functions.log is rotated at this size ...
    log_backups: int = BACKUPS  # ... keeping this many older files
    verbose: bool = False  # TensorFlow's and Keras' own lines while a first start trains
    #: The template's CaptureSampleRate: every request by default, so the replay gate has traffic
    #: to judge on a fresh machine (None: the template's default, as `sam deploy` sets it).
    capture_sample_rate: float | None = 1.0

    @property
    def state(self) -> Path:
        return self.state_dir or self.root / ".lepton"

    @property
    def template_path(self) -> Path:
        return self.root / "template.yaml"

    @property
    def issuer(self) -> LocalIssuer:
        """The stack's own token issuer: with InferenceAuth=JWT, the one JwtIssuer names."""
        return LocalIssuer(self.state / "issuer")

    @property
    def parameters(self) -> dict[str, str]:
        """Template parameter overrides, as `sam deploy --parameter-overrides` would give them.
        Locally every version that passes its checks is promoted at once: one person's requests
        are too few to judge a canary on."""
        capture = {} if self.capture_sample_rate is None else {"CaptureSampleRate": f"{self.capture_sample_rate:g}"}
        auth = {}
        if self.inference_auth:
            mode = self.inference_auth.upper()
            local_jwt = {"JwtIssuer": self.issuer.issuer, "JwtAudience": LOCAL_AUDIENCE} if mode == "JWT" else {}
            auth = {"InferenceAuth": mode, **local_jwt}
        return {**LOCAL_PARAMETERS, **auth, **capture, **self.overrides}

    @property
    def artifacts(self) -> Path:
        return self.state / "artifacts"

    def serves(self, model: str) -> bool:
        """Whether this stack publishes and serves ``model`` (`lepton up --models`)."""
        return self.models is None or model in self.models
