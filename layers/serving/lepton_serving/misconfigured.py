"""A model function whose settings were refused when it started (environment.py).

It answers every request with the reason, a `ConfigError` (500, naming each bad variable), and
never loads a model on a guessed value. The deployer's pre-traffic check sees that answer and
refuses the version, so such a version never takes traffic. The reason is logged once, at init,
where Lambda's logs show the cold start.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError, status_for
from .protocol import dumps
from .routes import Response


class MisconfiguredHandler:
    def __init__(self, error: ConfigError, env: Mapping[str, str], configure: Callable[[Mapping[str, str]], Any]):
        """``configure``: how a new environment is tried again (`with_environment`)."""
        self.error = error
        self.configure = configure
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):  # a function's own environment, not a bare import
            from aws_lambda_powertools import Logger

            Logger(service=env.get("LEPTON_MODEL_NAME") or "lepton-model").error(
                "function misconfigured; every request is refused until it is fixed",
                extra={"reason": error.message})

    def warm(self) -> None:
        """Nothing to load."""

    def with_environment(self, env: Mapping[str, str]) -> Any:
        return self.configure(env)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if isinstance(event, dict) and "lepton_batch" in event:
            raise self.error  # a direct batch invocation fails whole, with the reason
        return Response(status_for(self.error), dumps({"error": self.error.message}).decode()).to_event()
