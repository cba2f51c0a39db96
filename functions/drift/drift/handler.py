"""Lambda entry point: EventBridge's schedule (or a manual invoke) -> check the models -> a summary.

A scheduled event checks every model in LEPTON_FUNCTIONS; ``{"models": ["tabular"]}`` checks
those. The answer lists each model's level and message. A model whose check could not run (S3 or
the table unavailable, a malformed manifest) is logged; if any could not, the run raises at the
end, after the others were checked, so Lambda counts an error and EventBridge retries.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from lepton_deploy.monitoring.settings import DriftSettings
from lepton_serving import clients
from lepton_serving.environment import check_at_cold_start, once_per_environment
from lepton_serving.errors import LeptonError, UpstreamFailure

from drift.monitor import DriftMonitor, Services

logger = Logger(service="drift")
#: The settings of an environment, validated once (Lambda's never changes).
settings_of = once_per_environment(DriftSettings.from_env)


class DriftHandler:
    """``env`` None reads the process environment (Lambda's); a mapping binds one configuration
    to this instance (the local stack runs functions side by side in one process)."""

    def __init__(self, env: Mapping[str, str] | None = None, aws: Callable[[str], Any] = clients.client):
        self.env = dict(env) if env is not None else None
        self.aws = aws
        self._monitor: DriftMonitor | None = None

    def with_environment(self, env: Mapping[str, str]) -> DriftHandler:
        return DriftHandler(env, self.aws)

    def monitor(self) -> DriftMonitor:
        if self._monitor is None:  # a refused setting fails every run with its reason; EventBridge retries
            settings = settings_of(os.environ if self.env is None else self.env)
            self._monitor = DriftMonitor(settings, Services(self.aws("s3"), self.aws("dynamodb"),
                                                            self.aws("cloudwatch")))
        return self._monitor

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        monitor = self.monitor()
        wanted = event.get("models") if isinstance(event, dict) else None
        models = [m for m in monitor.settings.functions if not isinstance(wanted, list) or m in wanted]
        results, failed = [], []
        for model in models:
            try:
                report = monitor.check(model)
            except LeptonError as exc:
                logger.exception("drift check failed", extra={"model": model})
                failed.append(f"{model}: {exc.message}")
                continue
            if report is None:
                results.append({"model": model, "level": "not_live", "message": "no live version yet"})
                continue
            summary = {"model": model, "version": report.version, "level": report.level.value,
                       "message": report.message, "rows": report.rows}
            logger.info("drift checked", extra={"drift": summary})  # "message" is the log line's own key
            results.append(summary)
        if failed:
            raise UpstreamFailure(f"the drift check could not run for {len(failed)} model(s): {'; '.join(failed)}")
        return {"checked": results}


lambda_handler = DriftHandler()
# A mistake in its settings is logged when the function starts, and every run fails with it.
check_at_cold_start(settings_of, os.environ, logger, "the drift function")
