"""One scheduled run: every model's live version against its reference, as metrics and a record.

For each model: its live pointer (which version; a model with none yet is left out), that
version's manifest (the bytes the deployer validated, by their pinned sha256), the check over the
last ``window_hours`` of captures (lepton_deploy.monitoring.live_check), then the `Drift` metric
(metrics.py) and the newest check in the deployments table (what `GET /status` and the
playground's badge show). A model whose check fails is reported and the others still run.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lepton_deploy.captures import CaptureStore
from lepton_deploy.registry import DriftStatus, Registry
from lepton_deploy.monitoring.baselines import Baselines
from lepton_drift.check import DriftReport
from lepton_deploy.monitoring.settings import DriftSettings
from lepton_deploy.monitoring.live_check import Sources, Span, check_version
from lepton_serving.bucket import ModelBucket
from lepton_serving.manifest import manifest_key
from lepton_serving.table import DeploymentsTable

from drift.metrics import put_drift


@dataclass(frozen=True)
class Services:
    s3: Any
    dynamodb: Any
    cloudwatch: Any


def status_of(report: DriftReport, checked_at: str) -> DriftStatus:
    worst = report.worst
    return DriftStatus(report.model, report.version, report.level, report.message, checked_at, report.rows,
                       report.reference_source, worst.name if worst else "", worst.psi if worst else None,
                       {f.name: round(f.psi, 4) for f in report.features if f.psi is not None})


class DriftMonitor:
    def __init__(self, settings: DriftSettings, services: Services,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.settings = settings
        self.services = services
        self.clock = clock
        self.registry = Registry(DeploymentsTable(services.dynamodb, settings.table))
        self.captures = CaptureStore(services.s3, settings.capture_bucket)

    def check(self, model: str) -> DriftReport | None:
        """The live version's report (None when the model has no live version yet), sent and recorded."""
        pointer = self.registry.get_live(model, consistent=False)
        if pointer is None:
            return None
        live = pointer.live
        bucket = ModelBucket(self.services.s3, live.bucket or self.settings.model_bucket)
        manifest, _ = bucket.pinned_manifest(manifest_key(model, live.version), live.manifest_sha256)
        now = self.clock()
        settings = self.settings
        span = Span(now - timedelta(hours=settings.window_hours), now, settings.max_records,
                    seed=int(now.timestamp()))
        stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        report = check_version(Sources(bucket, self.captures, Baselines(self.registry)), manifest, span,
                               settings.thresholds, settings.baseline_rows, now=stamp)
        put_drift(self.services.cloudwatch, report, now)
        self.registry.put_drift(status_of(report, stamp))
        return report
