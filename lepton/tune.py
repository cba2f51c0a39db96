"""`lepton tune <model>`: what each memory size would cost and how fast it would answer.

Lambda gives a function CPU in proportion to its memory (one full vCPU at 1,769 MB), so the
cheapest memory for a latency target is not the smallest: a request that finishes twice as fast
at twice the memory costs the same, and a p99 target may need the larger size. This is
aws-lambda-power-tuning's idea, run on the version that is live:

- **In AWS** (``--stack NAME``): under the model's deployment lease, the live version's
  configuration (its environment and layers, so its model) is published once per memory size,
  each version is invoked with its golden requests (round robin over the sizes, ``LogType=Tail``:
  durations, billed durations, init and memory from the REPORT lines; the first call of each is
  its cold start), and each is priced (lepton_deploy/pricing.py). Then ``$LATEST`` is put back as
  it was and the versions it published are deleted. Nothing moves the ``live`` alias.
- **Locally** it can only model this: every version runs on this machine's cores whatever its
  memory size. It takes the live version's receipt (measured at its configured memory) and
  scales its durations by Lambda's CPU rule, 1,769 / memory below 1,769 MB and unchanged above
  (one request runs on one thread), then prices each size, and says so above the table.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_SIZES = (512, 1024, 1769, 3008)
VCPU_MB = 1769  # Lambda allocates one full vCPU at 1,769 MB


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("tune", help="cost and latency of a model at several memory sizes",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    from .cost.cli import memory_sizes

    parser.add_argument("--memory", type=memory_sizes, default=DEFAULT_SIZES,
                        help=f"memory sizes in MB, comma-separated (default {','.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--requests", type=_positive, default=50,
                        help="warm requests per size, after the cold one (default 50)")
    parser.add_argument("--p99-ms", type=float, default=None,
                        help="a latency target: recommend the cheapest size whose p99 meets it")
    parser.add_argument("--stack", help="measure in AWS, on this deployed stack (default: model it locally)")
    parser.add_argument("--region", help="AWS region of --stack")
    parser.add_argument("--endpoint", help="the local stack's API URL, for the receipt (default: the local stack)")
    parser.set_defaults(func=cmd_tune)
    return parser


@dataclass(frozen=True)
class SizeResult:
    memory_mb: int
    init_ms: float | None
    p50_ms: float
    p99_ms: float
    billed_ms: float  # mean per warm request
    usd_per_million: float
    requests: int


def cmd_tune(args: argparse.Namespace) -> int:
    from lepton_deploy.prices import PriceFileError
    from lepton_serving.errors import LeptonError

    from .client import ControlError

    try:
        if args.stack:
            results, header = _in_aws(args)
        else:
            results, header = _modelled(args)
    except (ControlError, LeptonError, PriceFileError, ValueError) as exc:
        print(f"lepton tune: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 2
    print("\n".join([*header, "", *table(results, args.p99_ms)]))
    return 0


# -- measured, in AWS -------------------------------------------------------------------------------
def _in_aws(args: argparse.Namespace) -> tuple[list[SizeResult], list[str]]:
    import boto3

    from .client import stack_outputs

    outputs = stack_outputs(args.stack, args.region)
    missing = [k for k in ("DeploymentsTableName", "ModelBucketName") if k not in outputs]
    if missing:
        raise ValueError(f"stack '{args.stack}' has no {' or '.join(missing)} output; is it a Lepton stack?")
    session = boto3.session.Session(region_name=args.region)
    results = measure_sizes(session.client("lambda"), session.client("s3"), session.client("dynamodb"),
                            outputs["DeploymentsTableName"], outputs["ModelBucketName"], args.model,
                            args.memory, args.requests)
    return results, [f"{args.model} on stack {args.stack}: measured, each size a version of its own, "
                     f"{args.requests} warm requests after the cold one (Lambda's REPORT lines)"]


def measure_sizes(lam: Any, s3: Any, dynamodb: Any, table: str, bucket: str, model: str, sizes: Sequence[int],
                  requests: int, clock: Callable[[], float] | None = None) -> list[SizeResult]:
    """Publish the live version at each size, invoke each, price each; clean up after."""
    from lepton_deploy.functions import LambdaFunctions
    from lepton_deploy.invoke import LambdaInvoker, infer_event
    from lepton_deploy.measure import Meter, Side, Workload, measure
    from lepton_deploy.prices import load
    from lepton_deploy.pricing import billed_ms, per_million
    from lepton_deploy.registry import Registry
    from lepton_deploy.rollout import Rollout
    from lepton_serving.bucket import ModelBucket
    from lepton_serving.errors import NotFound
    from lepton_serving.manifest import manifest_key
    from lepton_serving.origin import RECEIPT
    from lepton_serving.table import DeploymentsTable

    registry = Registry(DeploymentsTable(dynamodb, table))
    pointer = registry.get_live(model)
    if pointer is None:
        raise NotFound(f"no version of '{model}' is live on this stack; deploy one first")
    functions = LambdaFunctions(lam)
    manifest = ModelBucket(s3, bucket).manifest(manifest_key(model, pointer.live.version))
    workload = Workload.of(manifest)
    name = pointer.function_name
    with Rollout(registry, functions).lease(model, "tune"):
        original = functions.config(name)
        live = functions.config(name, pointer.live.function_version)
        existing = {v.version for v in functions.versions(name)}
        published: dict[int, str] = {}
        try:
            for size in sizes:
                current = functions.config(name)
                functions.set_environment(current, live.environment, live.layers, memory_mb=size)
                functions.wait_updated(name)
                staged = functions.config(name)
                published[size] = functions.publish(staged, f"lepton tune: {model} v{pointer.live.version} at "
                                                            f"{size} MB").version
            meter = Meter()
            send = LambdaInvoker(lam, meter)
            sides = [Side(pointer.live.version, published[size]) for size in sizes]
            for side in sides:  # each version's first call: its cold start
                send(name, side.qualifier, infer_event(model, {"id": "tune-cold", **workload.bodies[0]}, RECEIPT))
            measure(send, meter, name, lambda body, i: infer_event(model, {"id": f"tune-{i}", **body}, RECEIPT),
                    workload, sides, requests, 1, lambda measured: False)
        finally:
            functions.set_environment(functions.config(name), original.environment, original.layers,
                                      memory_mb=original.memory_mb or None)
            for version in published.values():
                if version not in existing:
                    functions.delete_version(name, version)
    prices = load()
    arch = live.architectures[0] if live.architectures else "x86_64"
    results = []
    for size, side in zip(sizes, sides):
        cold = meter.cold(name, side.qualifier)
        init = cold.init_ms if cold else None
        parts = per_million(prices, arch, size, side.billed_mean, billed_ms(init) if init else 0)
        results.append(SizeResult(size, init, side.p(50), side.p(99), side.billed_mean, sum(parts.values()),
                                  side.requests))
    return results


# -- modelled, locally --------------------------------------------------------------------------------
def _modelled(args: argparse.Namespace) -> tuple[list[SizeResult], list[str]]:
    from lepton_deploy.receipt import receipt_of

    from .client import ControlClient, ControlError, resolve_target

    target = resolve_target(args.endpoint, None, None)
    detail = ControlClient(target, timeout=10.0).model(args.model)
    receipt = receipt_of(detail.get("live_receipt"))
    if receipt is None:
        raise ControlError(f"the live version of '{args.model}' at {target.where} has no receipt yet; "
                          "push a version and let the deployer measure it")
    return model_sizes(receipt, args.memory), [
        f"{args.model} v{receipt.version}: MODELLED, not measured. The local stack runs every version on this",
        "machine's cores whatever its memory size, so it cannot measure how Lambda's CPU share grows with memory.",
        f"This scales the live version's receipt (measured at {receipt.memory_mb} MB, {receipt.measured_at[:16]}) "
        f"by Lambda's CPU rule:",
        f"durations x {VCPU_MB:,} / memory below {VCPU_MB:,} MB, unchanged above (one request runs on one thread),",
        "and prices each size (lepton_deploy/prices.json). Measure it with `lepton tune "
        f"{args.model} --stack NAME` on a deployed stack."]


def model_sizes(receipt: Any, sizes: Sequence[int]) -> list[SizeResult]:
    from lepton_deploy.prices import load
    from lepton_deploy.pricing import billed_ms, per_million

    prices = load()
    results = []
    for size in sizes:
        scale = _cpu_scale(size) / _cpu_scale(receipt.memory_mb)
        init = receipt.init_ms * scale if receipt.init_ms is not None else None
        # A request is billed in whole milliseconds: the median request's billed duration at this
        # size, times what the measured mean billed was above the measured median's (the tail).
        median_billed = max(1, math.ceil(receipt.p50_ms - 1e-9))
        billed = max(1, math.ceil(receipt.p50_ms * scale - 1e-9)) * receipt.billed_ms / median_billed
        parts = per_million(prices, receipt.arch, size, billed, billed_ms(init) if init else 0)
        results.append(SizeResult(size, init, receipt.p50_ms * scale, receipt.p99_ms * scale, billed,
                                  sum(parts.values()), receipt.requests))
    return results


def _cpu_scale(memory_mb: int) -> float:
    return max(1.0, VCPU_MB / memory_mb)


# -- output -----------------------------------------------------------------------------------------------
def table(results: Sequence[SizeResult], p99_target: float | None) -> list[str]:
    header = (f"{'memory':>8} {'init ms':>9} {'p50 ms':>9} {'p99 ms':>9} {'billed ms':>10} "
              f"{'$ per million':>14}")
    lines = [header, "-" * len(header)]
    for r in results:
        init = f"{r.init_ms:>9,.0f}" if r.init_ms is not None else f"{'-':>9}"
        lines.append(f"{r.memory_mb:>5} MB {init} {r.p50_ms:>9.3f} {r.p99_ms:>9.3f} {r.billed_ms:>10.2f} "
                     f"{r.usd_per_million:>14.4f}")
    cheapest = min(results, key=lambda r: (r.usd_per_million, r.p99_ms))
    fastest = min(results, key=lambda r: (r.p99_ms, r.usd_per_million))
    lines += ["", f"cheapest: {cheapest.memory_mb} MB (${cheapest.usd_per_million:.4f} per million, "
                  f"p99 {cheapest.p99_ms:.3f} ms); fastest p99: {fastest.memory_mb} MB "
                  f"({fastest.p99_ms:.3f} ms, ${fastest.usd_per_million:.4f} per million)"]
    if p99_target is not None:
        meeting = [r for r in results if r.p99_ms <= p99_target]
        best = min(meeting, key=lambda r: (r.usd_per_million, r.memory_mb)) if meeting else None
        lines.append(f"for p99 <= {p99_target:g} ms: " + (f"{best.memory_mb} MB, ${best.usd_per_million:.4f} per "
                                                          "million" if best else "no size measured meets it"))
    lines.append("$ per million predictions: Lambda compute and requests, HTTP API, init at a 1% cold share")
    return lines


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value
