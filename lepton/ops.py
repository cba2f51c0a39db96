"""`lepton models | versions | push | rollback | promote | deployments | replay`: the control API from a terminal.

Each command is one call of lepton/client.py against the local stack (default), a deployed
stack (--stack NAME) or a URL (--endpoint), printed as a table (or --json).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lepton_deploy.outcomes import Outcome
from lepton_deploy.registry import Attempt
from rich.console import Console
from rich.table import Table

from .client import LOCAL_URL, ControlClient, ControlError, resolve_target
from .decisions import wait_for_decision

#: How an attempt's outcome and a version's state are coloured.
STYLE = {Outcome.PROMOTED: "green", Outcome.CANARY: "yellow", Outcome.ROLLED_BACK: "cyan", Outcome.REJECTED: "red",
         Outcome.FAILED: "red", Outcome.SKIPPED: "dim", "live": "bold green", "previous": "cyan", "pending": "yellow",
         "incomplete": "dim"}


def register(subparsers: Any) -> None:
    def command(name: str, handler: Callable[[argparse.Namespace, ControlClient, Console], int], help_: str
                ) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_, description=help_)
        parser.add_argument("--endpoint", help=f"API base URL (default: the local stack, {LOCAL_URL})")
        parser.add_argument("--stack", help="a deployed stack's name: its ApiUrl output, default AWS credentials")
        parser.add_argument("--region", help="AWS region of --stack (default: your AWS configuration)")
        parser.add_argument("--json", action="store_true", help="print the API's JSON response")
        parser.set_defaults(func=lambda args: run(args, handler))
        return parser

    command("models", cmd_models, "every model: live version, canary, function, last deployment")
    versions = command("versions", cmd_versions, "a model's versions in the bucket, with state and manifest summary")
    versions.add_argument("model")
    push = command("push", cmd_push, "upload a model folder (model.onnx + manifest.json) as a new version")
    push.add_argument("model")
    push.add_argument("folder", type=Path, help="a training output folder: model.onnx and manifest.json")
    push.add_argument("--version", type=int, help="version number (default: next)")
    push.add_argument("--no-wait", dest="wait", action="store_false", help="do not wait for the deployer's decision")
    push.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the decision (default 120)")
    rollback = command("rollback", cmd_rollback, "serve an earlier version again (default: the previous one)")
    rollback.add_argument("model")
    rollback.add_argument("version", nargs="?", type=int)
    rollback.add_argument("--reason", default="", help="recorded with the rollback")
    promote = command("promote", cmd_promote, "send all traffic to the running canary now")
    promote.add_argument("model")
    promote.add_argument("--reason", default="")
    deployments = command("deployments", cmd_deployments, "deployment attempts, newest first")
    deployments.add_argument("model_arg", nargs="?", metavar="model", help="only this model (same as --model)")
    deployments.add_argument("--model")
    deployments.add_argument("--limit", type=int, default=20)
    replay = command("replay", cmd_replay, "compare a published version with the live one on captured requests")
    replay.add_argument("model")
    replay.add_argument("--version", type=int, required=True, help="a published version (one refused too)")
    replay.add_argument("--requests", type=int, default=200,
                        help="how many of the live version's newest captured requests (default 200)")


def run(args: argparse.Namespace, handler: Callable[[argparse.Namespace, ControlClient, Console], int]) -> int:
    out = Console(width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True)
    try:
        client = ControlClient(resolve_target(args.endpoint, args.stack, args.region))
        return handler(args, client, out)
    except ControlError as exc:
        err.print(f"[red]error:[/red] {exc.message}", soft_wrap=True, highlight=False)
        return 1


# -- commands ---------------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    body = client.models()
    if args.json:
        return _json(out, body)
    table = Table(title=f"Models at {client.target.where}")
    for name in ("model", "live", "canary", "function"):  # names are never cut short
        table.add_column(name, no_wrap=True)
    table.add_column("receipt (live version)")
    table.add_column("last deployment")
    for m in body["models"]:
        canary = m.get("canary")
        last = m.get("last_deployment")
        source = f" ({m['live_model_source']})" if m.get("live_model_source") else ""
        table.add_row(
            m["name"], _v(m.get("live_version")) + source,
            f"v{canary['version']} at {canary['weight']:.0%} until {canary['promote_after'][:19]}" if canary else "-",
            m.get("function_name") or "-",
            _receipt(m.get("live_receipt"), short=True),
            f"v{last['version']} [{STYLE.get(last['outcome'], '')}]{last['outcome']}[/] {last['reason']}" if last else "-",
        )
    out.print(table)
    return 0


def cmd_versions(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    body = client.model(args.model)
    if args.json:
        return _json(out, body)
    table = Table(title=f"{body['name']} ({body.get('function_name') or 'no function'}): live {_v(body.get('live_version'))}")
    for name in ("version", "state", "created", "sha256", "size"):
        table.add_column(name)
    table.add_column("metrics", min_width=18)  # "ndcg_at_10 0.411," whole on one line
    for name in ("quantized", "receipt", "last decision"):
        table.add_column(name)
    for v in body["versions"]:
        metrics = ", ".join(f"{k} {val:.3g}" if isinstance(val, float) else f"{k} {val}"
                            for k, val in (v.get("metrics") or {}).items())
        decision = f"{v['outcome']}: {v['reason']}" if v.get("outcome") else (v.get("problem") or "-")
        table.add_row(_v(v["version"]), f"[{STYLE.get(v['state'], '')}]{v['state']}[/]", (v.get("created_at") or "-")[:19],
                      (v.get("sha256") or "-")[:12], _size(v.get("size")), metrics or "-",
                      "yes" if v.get("quantized") else "no", _receipt(v.get("receipt"), short=True), decision)
    out.print(table)
    live = body.get("manifest")
    if live:
        signature = lambda specs: ", ".join(f"{t['name']} {t['datatype']}{t['shape']}" for t in specs)  # noqa: E731
        out.print(f"live v{live['version']}: inputs {signature(live['inputs'])} -> outputs {signature(live['outputs'])}"
                  + (f"; labels {', '.join(live['labels'])}" if live.get("labels") else ""), highlight=False)
    receipt = body.get("live_receipt")
    if receipt:
        out.print(f"live v{receipt['version']} receipt, measured {receipt['measured_at'][:19]}: {_receipt(receipt)}",
                  highlight=False)
        for figure, source in (receipt.get("sources") or {}).items():
            out.print(f"  {figure}: {source}", highlight=False, soft_wrap=True)
    for note in body.get("notes") or []:
        out.print(f"[yellow]note:[/yellow] {note}")
    return 0


def cmd_push(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    manifest, model_bytes = _artifact(args.folder, args.model)
    grant = client.uploads(args.model, args.version, tokenizer=manifest.tokenizer is not None,
                           reference=manifest.reference is not None)
    version = grant["version"]
    # The same rewrite lepton_training.publish makes: the folder's manifest, numbered for this upload.
    bodies = {"model.onnx": model_bytes,
              "manifest.json": (dataclasses.replace(manifest, version=version).to_json() + "\n").encode()}
    for file, _ in manifest.pinned_files():  # tokenizer.json, reference.json: _artifact checked their pins
        bodies[file] = (args.folder / file).read_bytes()
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=Console(stderr=True), transient=not sys.stderr.isatty()) as progress:
        for upload in grant["uploads"]:  # the API lists model.onnx first, then the pinned files, manifest.json last
            data = bodies[upload["file"]]
            task = progress.add_task(f"{args.model} v{version} {upload['file']}", total=len(data))
            client.upload(upload, data, lambda n, t=task: progress.advance(t, n))
    out.print(f"uploaded {args.model} v{version} ({_size(len(model_bytes))}) to s3://{grant['bucket']}/"
              f"{grant['uploads'][0]['key'].rsplit('/', 1)[0]}/", highlight=False)
    if not args.wait:
        out.print(f"the deployer decides next: lepton deployments {args.model}")
        return 0
    attempt = wait_for_decision(lambda: _attempts(client, args.model), version=version, timeout=args.timeout,
                                every=0.25)
    if attempt is None:
        out.print(f"[yellow]no decision on v{version} after {args.timeout:.0f} s[/yellow]; "
                  f"see lepton deployments {args.model}")
        return 1
    if args.json:
        _json(out, attempt.to_dict())
    else:
        out.print(f"{args.model} v{version}: [{STYLE.get(attempt.outcome, '')}]{attempt.outcome}[/] "
                  f"— {attempt.reason}" + (f" (check: {attempt.check})" if attempt.check else ""),
                  highlight=False)
    return 0 if attempt.outcome.serving else 1


def cmd_rollback(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    return _attempt(args, out, client.rollback(args.model, args.version, args.reason))


def cmd_promote(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    return _attempt(args, out, client.promote(args.model, reason=args.reason))


def cmd_deployments(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    model = args.model or args.model_arg
    if args.model and args.model_arg and args.model != args.model_arg:
        raise ControlError(f"two different models given: {args.model_arg} and --model {args.model}")
    body = client.deployments(model, args.limit)
    if args.json:
        return _json(out, body)
    table = Table("time (UTC)", "model", "version", "outcome", "actor", "checks", "reason",
                  title=f"Deployments{' of ' + model if model else ''}, newest first")
    for a in body["deployments"]:
        reason = a["reason"] + (f" [dim](check: {a['check']})[/dim]" if a.get("check") else "")
        table.add_row(a["created_at"][:19].replace("T", " "), a["model"], _v(a["version"]),
                      f"[{STYLE.get(a['outcome'], '')}]{a['outcome']}[/]", a.get("actor") or "-",
                      _checks(a.get("checks") or []), reason)
    out.print(table)
    return 0


def cmd_replay(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    body = client.replay(args.model, args.version, args.requests)
    if args.json:
        return _json(out, body)
    figures = body.get("figures") or {}
    title = (f"{body['model']} v{body['version']} (function version {body['function_version']}) against live "
             f"v{body['live_version']}: [{STYLE.get(_OUTCOME_STYLE.get(body['outcome'], ''), '')}]{body['outcome']}[/]")
    table = Table("figure", "value", title=title, title_justify="left")
    for key in _FIGURES:
        if key in figures:
            table.add_row(key.replace("_", " "), _figure(figures[key]))
    out.print(table)
    out.print(body["reason"], highlight=False, soft_wrap=True)
    cases = body.get("cases") or []
    if cases:
        shown = Table("request", "inputs", "live", f"v{body['version']}", title=f"first {len(cases)} disagreeing cases",
                      title_justify="left")
        for case in cases:
            shown.add_row(f"{case['request_id'][:12]} row {case['row']}", _short(case["inputs"]), _short(case["live"]),
                          _short(case["candidate"]))
        out.print(shown)
    return 0 if body["outcome"] != "failed" else 1


#: The replay's figures in the order a reader wants them (those present are shown).
_FIGURES = ("task", "task_source", "output", "requests", "captured", "rows", "errors", "agreement", "live_agreement",
            "min_agreement", "p50_relative_error", "p90_relative_error", "p99_relative_error", "max_p90_relative_error",
            "overlap_at_k", "k", "min_overlap", "classes", "invocations", "seconds")
_OUTCOME_STYLE = {"passed": "promoted", "failed": "rejected", "skipped": "skipped"}


def _checks(checks: list[dict[str, Any]]) -> str:
    """The checks on the published version, one word each: pre-traffic passed, replay 0.98."""
    marks = []
    for c in checks:
        figures = c.get("figures") or {}
        figure = next((figures[k] for k in ("agreement", "overlap_at_k", "p90_relative_error") if k in figures), None)
        shown = (f"{figure:.2f}" if isinstance(figure, (int, float)) and c.get("outcome") != "skipped"
                 else c.get("outcome", ""))
        style = STYLE.get(_OUTCOME_STYLE.get(c.get("outcome", ""), ""), "")
        marks.append(f"{c.get('name', '').replace('_', '-')} [{style}]{shown}[/]")
    return ", ".join(marks) or "-"


def _figure(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _short(value: Any, width: int = 48) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= width else text[:width - 1] + "…"


# -- pieces -----------------------------------------------------------------------------------------
def _artifact(folder: Path, model: str) -> tuple[Any, bytes]:
    """The folder's manifest and model bytes, checked against each other (lepton_training.publish)."""
    from lepton_serving.manifest import ManifestError
    from lepton_training.publish import PublishError, load_artifact

    if not (folder / "manifest.json").is_file():
        raise ControlError(f"{folder} has no manifest.json; push a training output folder (model.onnx + manifest.json)")
    try:
        manifest, model_path = load_artifact(folder)
    except (ManifestError, PublishError) as exc:
        raise ControlError(f"{folder}: {exc}") from exc
    if manifest.name != model:
        raise ControlError(f"{folder}/manifest.json is for model '{manifest.name}', not '{model}'")
    return manifest, model_path.read_bytes()


def _attempts(client: ControlClient, model: str) -> list[Attempt]:
    """The model's newest attempts, as the registry's own type (the API's body is derived from it)."""
    return [Attempt.from_dict(a) for a in client.deployments(model, 10)["deployments"]]


def _attempt(args: argparse.Namespace, out: Console, attempt: dict[str, Any]) -> int:
    if args.json:
        return _json(out, attempt)
    out.print(f"{attempt['model']}: [{STYLE.get(attempt['outcome'], '')}]{attempt['outcome']}[/] v{attempt['version']} "
              f"(function version {attempt['function_version']}) — {attempt['reason']}", highlight=False)
    return 0


def _json(out: Console, body: Any) -> int:
    out.print_json(json.dumps(body))
    return 0


def _receipt(data: Any, short: bool = False) -> str:
    """A receipt in one line (lepton_deploy/receipt.py), or "-" for a version never measured."""
    from lepton_deploy.receipt import receipt_of

    receipt = receipt_of(data)
    if receipt is None:
        return "-"
    return receipt.short() if short else receipt.line()


def _v(version: Any) -> str:
    return "-" if version is None else f"v{version}"


def _size(size: Any) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)
