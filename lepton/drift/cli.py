"""`lepton drift <model>`: how far a model's live requests have moved from its reference profile.

    lepton drift tabular                        the live version, the last 24 hours of captures
    lepton drift tabular --version 3 --since 7d
    lepton drift tabular --since 2026-12-07T10:00:00Z
    lepton drift digits --json                  the report for machines
    lepton drift digits --report drift.md       markdown, with one reference-vs-live PNG per feature

It runs on a running local stack (`lepton up`) with the drift function's own library and
configuration (its thresholds, buckets and table, as template.yaml gives them): the same check
the drift function runs in AWS on a schedule, on the local stack's captured requests. Per
feature: the population stability index, a test suited to the feature's kind with its p-value,
and a level (ok, warning, alarm, or not enough data). A model with no reference profile of its
own uses its first captured window, and says so.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from ..project import find_root

_DURATION = re.compile(r"([1-9][0-9]{0,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since(text: str) -> timedelta | datetime:
    """A duration back from now (30m, 24h, 7d) or a moment (2026-12-07T10:00:00Z)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30m, 24h or 7d, or a time such as "
                                         f"2026-12-07T10:00:00Z, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"expected a PSI value above 0, e.g. 0.25, got {text!r}")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("drift", help="how far a model's live requests moved from its reference profile",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--version", type=_positive, help="a version other than the live one")
    parser.add_argument("--since", type=since, default=timedelta(hours=24),
                        help="the live window: captures of the last 30m, 24h (default), 7d, ..., or since a time "
                             "(2026-12-07T10:00:00Z)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--report", type=Path, metavar="FILE.md",
                        help="write markdown there, with reference-vs-live histograms as PNG beside it")
    parser.add_argument("--warning", type=_threshold, help="PSI of a warning (default: the drift function's, 0.1)")
    parser.add_argument("--alarm", type=_threshold, help="PSI of an alarm (default: the drift function's, 0.25)")
    parser.add_argument("--max-records", type=_positive, help="read at most this many records (a random sample)")
    parser.add_argument("--host", default="127.0.0.1", help="where the local stack listens")
    parser.add_argument("--aws-port", type=int, default=4566, help="its local AWS port (default 4566)")
    parser.set_defaults(func=cmd_drift)
    return parser


def cmd_drift(args: argparse.Namespace) -> int:
    from lepton_serving.errors import LeptonError

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        report = run_check(args)
    except LeptonError as exc:
        err.print(f"[red]drift {args.model}:[/red] {exc.message}", soft_wrap=True)
        return 1
    except SystemExit as exc:
        err.print(f"[red]drift {args.model}:[/red] {exc}", soft_wrap=True)
        return 1
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        from .report import print_report

        print_report(out, report)
    if args.report:
        from .report import write_markdown

        plots = write_markdown(args.report, report)
        (err if args.json else out).print(f"wrote {args.report} and {len(plots)} plot(s) beside it", soft_wrap=True)
    return 0


def run_check(args: argparse.Namespace) -> Any:
    """The check, as the drift function would run it now, against the running local stack."""
    from lepton_deploy.captures import CaptureStore
    from lepton_deploy.functions import LambdaFunctions
    from lepton_deploy.registry import Registry
    from lepton_deploy.monitoring.baselines import Baselines
    from lepton_drift.check import Thresholds
    from lepton_deploy.monitoring.settings import DriftSettings
    from lepton_deploy.monitoring.live_check import Sources, Span, check_version
    from lepton_serving.bucket import ModelBucket
    from lepton_serving.errors import NotFound
    from lepton_serving.manifest import manifest_key
    from lepton_serving.table import DeploymentsTable

    from ..local.stack import attach
    from ..local.stack_settings import StackSettings

    stack = attach(StackSettings(root=find_root(), host=args.host, aws_port=args.aws_port))
    try:
        function = next((lid for lid, s in stack.host.specs.items() if s.handler.startswith("drift.")), None)
        if function is None:
            raise SystemExit("template.yaml has no drift function (handler drift.handler.lambda_handler)")
        # The configuration the running stack gave the function's live version (its overrides too).
        functions = LambdaFunctions(stack.client("lambda"))
        name = stack.host.function_name(function)
        settings = DriftSettings.from_env(functions.config(name, functions.alias(name).version).environment)
        chosen = settings.thresholds
        warning, alarm = args.warning or chosen.warning, args.alarm or chosen.alarm
        if warning > alarm:
            raise SystemExit(f"the warning threshold ({warning:g}) is above the alarm threshold ({alarm:g})")
        thresholds = Thresholds(warning, alarm, chosen.min_rows)
        s3 = stack.client("s3")
        registry = Registry(DeploymentsTable(stack.client("dynamodb"), settings.table))
        version = args.version
        bucket_name = settings.model_bucket
        if version is None:
            pointer = registry.get_live(args.model)
            if pointer is None:
                raise NotFound(f"'{args.model}' has no live version on this stack; pass --version N")
            version, bucket_name = pointer.live.version, pointer.live.bucket or bucket_name
        bucket = ModelBucket(s3, bucket_name)
        manifest = bucket.manifest(manifest_key(args.model, version))
        now = datetime.now(UTC)
        start = now - args.since if isinstance(args.since, timedelta) else args.since
        span = Span(start, now, args.max_records or settings.max_records, seed=int(now.timestamp()))
        sources = Sources(bucket, CaptureStore(s3, settings.capture_bucket), Baselines(registry))
        return check_version(sources, manifest, span, thresholds, settings.baseline_rows, now=now.isoformat(timespec="seconds").replace("+00:00", "Z"))
    finally:
        stack.stop()
