"""``lepton train <family>|all``: train locally (optionally publish). Also ``python -m lepton_training``.

The project CLI calls ``register(subparsers)`` and then the ``func`` default with the Namespace.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import FAMILY_NAMES

DEFAULT_OUT = Path(".lepton") / "artifacts"
log = logging.getLogger("lepton_training")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", choices=[*FAMILY_NAMES, "all"], help="model family to train, or all of them")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"artifacts root; each family writes <out>/<family>/ (default {DEFAULT_OUT})")
    parser.add_argument("--publish", action="store_true", help="upload to the model bucket as the next version")
    parser.add_argument("--bucket", default=os.environ.get("LEPTON_MODEL_BUCKET"),
                        help="model bucket (default $LEPTON_MODEL_BUCKET)")
    parser.add_argument("--endpoint-url", default=os.environ.get("LEPTON_S3_ENDPOINT_URL"),
                        help="S3 endpoint, e.g. http://127.0.0.1:4566 for the local stack")
    parser.add_argument("--version", type=int, default=None, help="publish as this version (must be above existing ones)")
    parser.add_argument("--epochs", type=int, default=None, help="override the family's epoch count")
    parser.add_argument("--folds", type=int, default=None, help="cross-validation folds (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="split/initialisation seed (default 42)")
    parser.add_argument("--hyperparameters", type=Path, default=None, help="JSON file of hyperparameters")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any hyperparameter (repeatable)")
    parser.add_argument("--search", action="store_true", help="pick hyperparameters from a tiny grid by cross-validation")
    parser.add_argument("--quantize", action="store_true", help="try int8 dynamic quantisation, kept if accuracy holds")
    parser.add_argument("--quick", action="store_true", help="a handful of steps on a small subset (tests, smoke runs)")
    parser.set_defaults(func=handle)


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("train", help="train a model family, export ONNX + manifest, optionally publish",
                                   description=__doc__.splitlines()[0])
    add_arguments(parser)
    return parser


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """CLI flags as a hyperparameter layer (values from --set are coerced like SageMaker's strings)."""
    layer: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        layer[key.strip()] = value
    for key in ("epochs", "folds", "seed"):
        if getattr(args, key) is not None:
            layer[key] = getattr(args, key)
    if args.search:
        layer["search"] = True
    if args.quantize:
        layer["quantize"] = True
    return layer


def handle(args: argparse.Namespace) -> int:
    from .hyperparams import HyperparameterError, load_json

    _configure_logging()
    if args.publish and not args.bucket:
        print("--publish needs --bucket or $LEPTON_MODEL_BUCKET", file=sys.stderr)
        return 2
    if args.version is not None and args.family == "all":
        print("--version applies to one family, not 'all'", file=sys.stderr)
        return 2
    try:
        file_layer = load_json(args.hyperparameters) if args.hyperparameters else None
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.hyperparameters}: {exc}", file=sys.stderr)
        return 2
    from .pipeline import run

    out = args.out or DEFAULT_OUT
    families = list(FAMILY_NAMES) if args.family == "all" else [args.family]
    for name in families:
        started = time.monotonic()
        try:
            artifact_dir = run(name, out / name, quick=args.quick, layers=(file_layer, overrides(args)))
        except (HyperparameterError, FileNotFoundError) as exc:  # a typo, or a named artifact that is not there
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        print(f"{name}: artifacts in {artifact_dir} ({time.monotonic() - started:.1f} s)")
        if args.publish:
            from .publish import publish

            manifest = publish(artifact_dir, args.bucket, endpoint_url=args.endpoint_url, version=args.version)
            print(f"{name}: published s3://{args.bucket}/{manifest.manifest_key}")
    return 0


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lepton_training")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))
