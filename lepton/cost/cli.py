"""`lepton cost`: what a million predictions cost, how far Lambda scales, when a server is cheaper.

    lepton cost                          cost per million predictions of each deployed version, from its
                                         receipt (the local stack's, or --stack NAME's), else from the benchmark
    lepton cost --from bench             every model, arch and memory, from the benchmark run
    lepton cost --rps 500 --profile spike   cold-start share taken from the spike simulation
    lepton cost --simulate spike --provisioned 20     the scaling simulation, one profile
    lepton cost --crossover              where KServe on c7g/c7i becomes cheaper
    lepton cost --report docs/scale.md   regenerate docs/scale.md and its plots
    lepton cost --json                   the same numbers for machines

The cost table prices each deployed version from its receipt, what the deployer measured when it
published it (GET /models of the stack), when the stack answers and the version has one; every
other model, and the simulation, crossover and report, come from the benchmark's last results
(.lepton/bench/latest.json or the committed docs/benchmarks.json, whichever is newer). Every
answer says which it used. Prices: lepton_deploy/prices.json. Only the report needs matplotlib;
nothing here imports onnxruntime or TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..project import find_root


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("cost", help="cost per million predictions, scaling simulation, crossover",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=cmd_cost)
    return parser


def memory_sizes(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--memory takes MB sizes separated by commas, e.g. 512,1024; got {text!r}")
    bad = [v for v in values if not 128 <= v <= 10240]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"Lambda memory must be 128 to 10,240 MB; got {text!r}")
    return values


def _number(kind: type, accept: Any, what: str) -> Any:
    """An argparse type: `kind(text)` if `accept` holds for it, else a message saying what is expected."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


_fraction = _number(float, lambda v: 0.0 <= v <= 1.0, "a number between 0 and 1 (0.01 = 1 %)")
_count = _number(int, lambda v: v >= 0, "a whole number, zero or more")


def _positive(kind: type) -> Any:
    return _number(kind, lambda v: v > 0, "a positive number")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .model import DEFAULT_COLD_FRACTION, DEFAULT_MEMORIES
    from .traffic import PROFILES

    parser.add_argument("--rps", type=_positive(float), default=100.0,
                        help="steady requests a second, for the concurrency column (default 100)")
    traffic = parser.add_mutually_exclusive_group()
    traffic.add_argument("--cold-fraction", type=_fraction, default=None,
                         help=f"share of requests that start cold (default {DEFAULT_COLD_FRACTION})")
    traffic.add_argument("--profile", choices=sorted(PROFILES),
                         help="take the cold-start share from this simulated traffic profile instead")
    parser.add_argument("--memory", type=memory_sizes, default=None,
                        help=f"memory sizes in MB (default {','.join(map(str, DEFAULT_MEMORIES))}; "
                             "with --simulate 1024)")
    parser.add_argument("--arch", choices=("arm64", "x86_64", "both"), default=None,
                        help="default both; with --simulate arm64")
    parser.add_argument("--batch", type=_positive(int), default=1, help="rows per request (measured: 1, 8, 64)")
    parser.add_argument("--models", default="", help="comma-separated model names (default: every measured one)")
    parser.add_argument("--results", type=Path, default=None,
                        help="a benchmark results file (default: the newer of .lepton/bench/latest.json "
                             "and docs/benchmarks.json)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--from", dest="source", choices=("auto", "receipts", "bench"), default="auto",
                        help="price the deployed versions' receipts (receipts), the benchmark run (bench), or "
                             "receipts where a stack answers and has them, else the benchmark (auto, the default)")
    parser.add_argument("--endpoint", help="the stack's API URL for receipts (default: the local stack)")
    parser.add_argument("--stack", help="a deployed stack's name for receipts (its ApiUrl output)")
    parser.add_argument("--region", help="AWS region of --stack")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--simulate", choices=sorted(PROFILES), help="run the scaling simulation for a profile")
    what.add_argument("--crossover", action="store_true", help="when KServe on EC2 or SageMaker beats Lambda")
    what.add_argument("--report", type=Path, metavar="PATH", help="write the scaling document and its PNGs")
    sim = parser.add_argument_group("simulation limits (with --simulate)")
    sim.add_argument("--account-concurrency", type=_positive(int), default=1000,
                     help="account concurrency quota (default 1,000)")
    sim.add_argument("--reserved", type=_count, default=None, help="reserved concurrency for the function")
    sim.add_argument("--provisioned", type=_count, default=0, help="provisioned concurrency (default 0)")
    sim.add_argument("--snapstart", action="store_true", help="restore from a SnapStart snapshot instead of init")
    sim.add_argument("--restore-ms", type=_positive(float), default=None,
                     help="SnapStart restore time, assumed (not measured); default 250")
    sim.add_argument("--gateway-rate", type=_positive(float), default=10_000.0,
                     help="API Gateway account rate, req/s (default 10,000)")
    sim.add_argument("--gateway-burst", type=_positive(float), default=5_000.0,
                     help="API Gateway burst (default 5,000)")
    sim.add_argument("--keep-alive", type=_positive(float), default=300.0,
                     help="seconds an idle environment is kept (assumed; default 300)")
    parser.add_argument("--utilisation", type=_fraction, default=None,
                        help="target utilisation of the servers in the crossover (default 0.7)")


class NoReceipts(Exception):
    """--from receipts, and the stack has none to price (or cannot be reached)."""


def cmd_cost(args: argparse.Namespace) -> int:
    from .measured import ResultsError
    from .prices import PriceFileError

    try:
        return _run(args)
    except (ResultsError, PriceFileError, ValueError, NoReceipts) as exc:
        print(f"lepton cost: {exc}", file=sys.stderr)
        return 2


def _where(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _run(args: argparse.Namespace) -> int:
    from . import measured, prices as price_file

    # a simulation is a few hundred thousand steps: by default one per model, at the template's size
    from .model import DEFAULT_MEMORIES

    args.memory = args.memory or ((1024,) if args.simulate else DEFAULT_MEMORIES)
    args.arch = args.arch or ("arm64" if args.simulate else "both")
    prices = price_file.load()
    plain_table = not (args.simulate or args.crossover or args.report is not None)
    if plain_table and args.source != "bench":
        answered = _from_receipts(args, prices)
        if answered is not None:
            return answered
    elif args.source == "receipts":
        raise NoReceipts("--from receipts prices the cost table only; the simulation, crossover and report "
                         "come from the benchmark run")
    if args.results is not None:
        results = measured.load(args.results)
        why = f"measured {results.date}, given with --results"
    else:
        results, why = measured.choose(find_root(required=False))
    models = _models(results, args.models)
    source = {"file": _where(results.source), "date": results.date, "machine": results.machine_text(),
              "command": results.command, "why": why}
    source_line = f"results: {source['file']} ({why}; {source['machine']})"
    if args.report is not None:
        from .report import write_report

        written = write_report(args.report, results, f"measured {results.date}", prices, shown_as=source["file"])
        print("wrote " + ", ".join(str(p) for p in written))
        return 0
    if args.simulate:
        document, lines = _simulate(args, results, prices, models, source_line)
    elif args.crossover:
        document, lines = _crossover(args, results, prices, models, source_line)
    else:
        document, lines = _cost(args, results, prices, models, source_line)
    print(json.dumps({"results": source, **document}, indent=1) if args.json else "\n".join(lines))
    return 0


def _from_receipts(args: argparse.Namespace, prices: Any) -> int | None:
    """The cost table from the deployed versions' receipts; None to answer from the benchmark
    instead (auto, when the stack is not reachable or has no receipts; the reason is printed)."""
    from . import deployed, tables
    from .model import DEFAULT_COLD_FRACTION

    models, where = deployed.read_from(args.endpoint, args.stack, args.region)
    receipts, without = deployed.live_receipts(models) if models is not None else ({}, [])
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    if wanted:
        receipts = {m: r for m, r in receipts.items() if m in wanted}
        without = [m for m in without if m in wanted]
    if not receipts:
        why = (f"no receipts: {where}" if models is None
               else f"no deployed version at {where} has a receipt yet")
        if args.source == "receipts":
            raise NoReceipts(why)
        print(f"(priced from the benchmark run: {why})", file=sys.stderr)
        return None
    fraction = DEFAULT_COLD_FRACTION if args.cold_fraction is None else args.cold_fraction
    rows = [deployed.price(receipts[m], prices, fraction) for m in sorted(receipts)]
    fallback = ""
    if without:
        fallback = (f"no receipt for {', '.join(sorted(without))}: `lepton cost --from bench --models "
                    f"{','.join(sorted(without))}` prices them from the benchmark run")
    if args.json:
        print(json.dumps({"source": "receipts", "stack": where, "cold_fraction": fraction,
                          "rows": [r.as_dict() for r in rows], "without_receipt": sorted(without)}, indent=1))
    else:
        print("\n".join(tables.receipts(rows, where, fraction, len(prices.names()), fallback)))
    return 0


def _models(results: Any, wanted: str) -> list[str]:
    names = [m.strip() for m in wanted.split(",") if m.strip()] or sorted(results.models)
    unknown = [m for m in names if m not in results.models]
    if unknown:
        raise ValueError(f"no measurements for {', '.join(unknown)}; measured: {', '.join(sorted(results.models))}")
    return names


def _arches(arch: str) -> tuple[str, ...]:
    return ("arm64", "x86_64") if arch == "both" else (arch,)


def _cost(args: argparse.Namespace, results: Any, prices: Any, models: list[str], source_line: str
          ) -> tuple[dict, list[str]]:
    from . import tables
    from .model import ASSUMPTIONS, DEFAULT_COLD_FRACTION, lambda_cost, timing
    from .simulate import Limits, simulate
    from .traffic import named

    rows = []
    for name in models:
        for memory in args.memory:
            if args.profile:
                # the profile's cold-start share depends on memory (a longer init), not on the price
                fraction = simulate(named(args.profile), timing(results.models[name], memory, args.batch), Limits(),
                                    prices).cold_share()
            else:
                fraction = DEFAULT_COLD_FRACTION if args.cold_fraction is None else args.cold_fraction
            rows += [lambda_cost(results.models[name], prices, arch, memory, args.batch, fraction)
                     for arch in _arches(args.arch)]
    cold = (f"cold-start share from the {args.profile} profile's simulation (default limits)" if args.profile
            else "cold-start share given" if args.cold_fraction is not None
            else "cold-start share 1 % (AWS: cold starts typically occur in under 1 % of invocations)")
    document = {"prices": {"file": "lepton_deploy/prices.json", "region": prices.region}, "rps": args.rps,
                "batch": args.batch, "cold_start": cold, "assumptions": list(ASSUMPTIONS),
                "rows": [r.as_dict(args.rps) for r in rows]}
    header = [f"Cost per million predictions: Lambda + API Gateway HTTP API, {prices.region} list prices (USD)",
              source_line, f"traffic: {args.rps:,.0f} req/s, batch {args.batch}; {cold}"]
    return document, tables.cost(rows, args.rps, header, len(prices.names()))


def _simulate(args: argparse.Namespace, results: Any, prices: Any, models: list[str], source_line: str
              ) -> tuple[dict, list[str]]:
    from dataclasses import asdict

    from . import tables
    from .model import timing
    from .simulate import DEFAULT_RESTORE_MS, Limits, simulate
    from .traffic import named

    limits = Limits(account_concurrency=args.account_concurrency, reserved=args.reserved,
                    provisioned=args.provisioned, snapstart=args.snapstart,
                    restore_ms=args.restore_ms or DEFAULT_RESTORE_MS, gateway_rate=args.gateway_rate,
                    gateway_burst=args.gateway_burst, keep_alive_s=args.keep_alive)
    profile = named(args.simulate)
    runs = []
    for name in models:
        for memory in args.memory:
            for arch in _arches(args.arch):
                run = simulate(profile, timing(results.models[name], memory, args.batch), limits, prices, arch)
                runs.append({"model": name, "memory_mb": memory, "arch": arch, **run.summary(),
                             "cold_latency_ms": round(run.cold_latency_ms, 1)})
    document = {"profile": profile.description, "limits": asdict(limits), "runs": runs}
    return document, tables.simulation(runs, profile, limits, source_line)


def _crossover(args: argparse.Namespace, results: Any, prices: Any, models: list[str], source_line: str
               ) -> tuple[dict, list[str]]:
    from . import tables
    from .crossover import DEFAULT_UTILISATION, compare

    utilisation = DEFAULT_UTILISATION if args.utilisation is None else args.utilisation
    rows = compare(results, prices, models, utilisation, cold_fraction=args.cold_fraction)
    return {"utilisation": utilisation, "rows": rows}, tables.crossover(rows, utilisation, source_line)
