"""`lepton batch`: score a whole file or S3 object of rows with a model's live version.

    lepton batch tabular --input rows.jsonl --output out/ --wait
    lepton batch tabular --input s3://<batch bucket>/rows.csv
    lepton batch status JOB | lepton batch list | lepton batch cancel JOB

A job is one execution of the stack's batch state machine (docs/batch.md), started through the
control API (POST /models/{name}/batch-jobs), which pins the live function version for the whole
job. Before starting, the command prints what the job should cost and take in AWS, from the price
file and the benchmark's measured durations (lepton/cost/batch.py). A local FILE is uploaded to the
stack's batch bucket first (a presigned POST); with --wait it follows the job's map run (rows read,
scored, failed) and, given --output DIR, downloads the answers into DIR/<job>.jsonl in input order.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .client import LOCAL_URL, ControlClient, ControlError, resolve_target

ACTIONS = ("status", "list", "cancel")
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DEFAULT_CONCURRENCY = 10  # the template's BatchMaxConcurrency default: the stack may cap it lower


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("batch", help="score every row of a file or S3 object (Step Functions)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="a model name, or status | list | cancel")
    parser.add_argument("job", nargs="?", help="the job id (status, cancel)")
    parser.add_argument("--input", help="rows: a local .jsonl/.csv FILE, or s3://<the stack's batch bucket>/key")
    parser.add_argument("--output", help="DIR: download the answers there (with --wait); they stay in "
                                         "s3://<batch bucket>/jobs/<job>/ either way")
    parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file's suffix")
    parser.add_argument("--batch-size", type=int, help="rows per invocation (default: the model's batch limit)")
    parser.add_argument("--concurrency", type=int, help="batches in flight (default and most: BatchMaxConcurrency)")
    parser.add_argument("--wait", action="store_true", help="follow the job to its end")
    parser.add_argument("--endpoint", help=f"API base URL (default: the local stack, {LOCAL_URL})")
    parser.add_argument("--aws-port", type=int, default=4566, help="the local stack's AWS port (default 4566)")
    parser.add_argument("--stack", help="a deployed stack's name: its ApiUrl output, default AWS credentials")
    parser.add_argument("--region", help="AWS region of --stack")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.set_defaults(func=cmd_batch)
    return parser


def cmd_batch(args: argparse.Namespace) -> int:
    out, err = Console(), Console(stderr=True)
    try:
        client = ControlClient(resolve_target(args.endpoint, args.stack, args.region))
        if args.target in ACTIONS:
            return _action(args, client, out)
        return _start(args, client, out, err)
    except ControlError as exc:
        err.print(f"[red]error:[/red] {exc.message}", soft_wrap=True, highlight=False)
        return 1


# -- start -----------------------------------------------------------------------------------------
def _start(args: argparse.Namespace, client: ControlClient, out: Console, err: Console) -> int:
    if not args.input:
        raise ControlError("give the rows: --input FILE or --input s3://<batch bucket>/key")
    local = None if args.input.startswith("s3://") else Path(args.input)
    if local is not None and not local.is_file():
        raise ControlError(f"no file {local}")
    rows = count_rows(local, args.format) if local is not None else None
    err.print(estimate_text(args.target, rows, args.batch_size, args.concurrency), highlight=False)
    uri = args.input
    if local is not None:
        staged = client.call("POST", "/batch-inputs", body={"filename": local.name})
        client.upload(staged["upload"], local.read_bytes())
        uri = staged["input"]
    body = {k: v for k, v in {"input": uri, "format": args.format, "batch_size": args.batch_size,
                              "max_concurrency": args.concurrency}.items() if v is not None}
    job = client.call("POST", f"/models/{args.target}/batch-jobs", body=body)
    err.print(f"job [bold]{job['job']}[/bold]: {job['model']} v{job['model_version']} on function version "
              f"{job['function_version']} (pinned for the whole job); answers in {job['output']}", highlight=False)
    if not args.wait:
        return _show(out, job, args.json)
    job = follow(client, job, err)
    if job["status"] == "SUCCEEDED" and args.output and not args.output.startswith("s3://"):
        written = download(job, Path(args.output), args, client)
        err.print(f"wrote {written}", highlight=False)
    _show(out, job, args.json)
    return 0 if job["status"] == "SUCCEEDED" else 1


def count_rows(path: Path, fmt: str | None) -> int:
    """Rows in a local file: non-empty lines, less CSV's header."""
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    csv = (fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")) == "csv"
    return max(0, lines - 1) if csv else lines


def estimate_text(model: str, rows: int | None, batch_size: int | None, concurrency: int | None) -> str:
    """What the job should cost and take in AWS, from the price file and measured durations."""
    from .cost import measured, prices as price_file
    from .cost.batch import estimate
    from .project import find_root

    try:
        results, _ = measured.choose(find_root())
        times = results.models[model]
    except (measured.ResultsError, KeyError, SystemExit):
        return f"[dim]no measured latency for {model}: no estimate (run `lepton bench`)[/dim]"
    e = estimate(times, price_file.load(), rows if rows is not None else 1_000_000, batch_size=batch_size or 64,
                 concurrency=concurrency or DEFAULT_CONCURRENCY, measured=results.batch_ms)
    what = f"{rows:,} rows" if rows is not None else "per million rows"
    return (f"estimate in AWS ({what}, {e.batch_size} a batch, {e.concurrency} at once, arm64 1,024 MB): "
            f"${e.total:,.4f}, about {_seconds(e.wall_seconds(times.init_ms))}; one batch {e.batch_ms:.2f} ms "
            f"({e.measured}, {results.date}); lepton/cost/batch.py says what is assumed")


def _seconds(value: float) -> str:
    return f"{value:,.1f} s" if value < 60 else f"{value / 60:,.1f} min" if value < 7200 else f"{value / 3600:,.1f} h"


def follow(client: ControlClient, job: dict[str, Any], err: Console, every: float = 2.0) -> dict[str, Any]:
    """Poll the job until it ends, with a progress bar of rows scored out of rows read."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        bar = progress.add_task(job["job"], total=None)
        while True:
            counts = job.get("counts") or {}
            progress.update(bar, total=counts.get("read") or None, completed=counts.get("scored", 0),
                            description=f"{job['job']} {job['status'].lower()}")
            if job["status"] in FINAL:
                return job
            time.sleep(every)
            job = client.call("GET", f"/batch-jobs/{job['job']}")


def download(job: dict[str, Any], folder: Path, args: argparse.Namespace, client: ControlClient) -> Path:
    """The job's answer files, in input order, as one JSON Lines file DIR/<job>.jsonl."""
    import boto3

    bucket, _, prefix = job["output"].removeprefix("s3://").partition("/")
    local = {"endpoint_url": f"http://127.0.0.1:{args.aws_port}", "aws_access_key_id": "testing",
             "aws_secret_access_key": "testing", "region_name": "us-east-1"} if client.target.local else {}
    s3 = boto3.client("s3", **local)
    keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}rows/")
                  for o in page.get("Contents", []))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{job['job']}.jsonl"
    with target.open("wb") as handle:
        for key in keys:  # part-<first line, 12 digits>.jsonl: name order is line order
            handle.write(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return target


# -- status, list, cancel ----------------------------------------------------------------------------
def _action(args: argparse.Namespace, client: ControlClient, out: Console) -> int:
    if args.target == "list":
        jobs = client.call("GET", "/batch-jobs")["jobs"]
        if args.json:
            out.print_json(json.dumps(jobs))
        for job in jobs:
            out.print(_line(job), highlight=False)
        return 0
    if not args.job:
        raise ControlError(f"lepton batch {args.target} needs a job id (lepton batch list shows them)")
    path = f"/batch-jobs/{args.job}" + ("/cancel" if args.target == "cancel" else "")
    job = client.call("POST" if args.target == "cancel" else "GET", path)
    return _show(out, job, args.json)


def _show(out: Console, job: dict[str, Any], as_json: bool) -> int:
    if as_json:
        out.print_json(json.dumps(job))
    else:
        out.print(_line(job), highlight=False)
        if job.get("error"):
            out.print(f"  {job['error']}", highlight=False)
    return 0


def _line(job: dict[str, Any]) -> str:
    counts = job.get("counts") or {}
    progress = (f"{counts.get('scored', 0):,}/{counts.get('read', 0):,} rows scored, {counts.get('failed', 0):,} failed"
                if counts else "no rows read yet")
    return (f"{job['job']}  {job['status']:<9} {job['model']} v{job['model_version']} (function version "
            f"{job['function_version']})  {progress}  {job['output']}")
