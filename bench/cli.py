"""`lepton bench`: the benchmark suite (also `python -m bench` and `make bench`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SECTIONS = ("cold", "overhead", "http", "package", "redeploy", "soak", "batch", "capture")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="every section with tiny counts (a smoke test)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--models", default="", help="comma-separated model names (default: every model function)")
    parser.add_argument("--no-peers", action="store_true", help="skip KServe and BentoML (no extra venvs)")
    parser.add_argument("--no-tf", action="store_true", help="skip the TensorFlow cold-start baseline")
    parser.add_argument("--no-text", action="store_true",
                        help="skip the added text models (a TF-IDF pipeline, a tokenizer model) in the cold starts")
    parser.add_argument("--no-train", action="store_true",
                        help="never train: use trained artifacts or the seed network built without TensorFlow")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report (default docs/benchmarks.md)")
    parser.add_argument("--work", type=Path, default=None, help="scratch dir (default .lepton/bench)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the last run's raw results, measuring nothing")


def cmd_bench(args: argparse.Namespace) -> int:
    from .common import ROOT, Settings
    from .run import rewrite, run

    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    settings = Settings(quick=args.quick, sections=sections, peers=not args.no_peers, train=not args.no_train,
                        tf_baseline=not args.no_tf, text=not args.no_text,
                        families=tuple(m for m in args.models.split(",") if m),
                        out=args.out or ROOT / "docs" / "benchmarks.md", work=args.work or ROOT / ".lepton" / "bench")
    if args.report_only:
        rewrite(settings)
        return 0
    command = "lepton bench " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:])
    run(settings, command=command.strip())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run the benchmark suite and write docs/benchmarks.md")
    add_arguments(parser)
    parser.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(parser)
    return cmd_bench(parser.parse_args(argv))
