"""`lepton`: the developer-side CLI — local stack, docker-free invoke, training, model operations."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import socket
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from rich.console import Console

from .project import find_root

console = Console(stderr=True)


def _settings(args: argparse.Namespace):
    from .local.stack_settings import StackSettings

    models = getattr(args, "models", None)
    return StackSettings(root=find_root(), host=args.host, api_port=getattr(args, "port", 3000),
                         aws_port=args.aws_port, state_dir=getattr(args, "state_dir", None),
                         train_missing=not getattr(args, "no_train", False),
                         inference_auth=getattr(args, "inference_auth", None),
                         overrides=dict(getattr(args, "parameter_overrides", None) or []),
                         models=[m for m in models.split(",") if m] if models else None,
                         log_max_bytes=int(getattr(args, "log_max_mb", 10.0) * 1024 * 1024),
                         log_backups=getattr(args, "log_backups", 3), verbose=getattr(args, "verbose", False),
                         capture_sample_rate=getattr(args, "capture_rate", 1.0))


def _logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False, markup=False)])
    # mangum logs every control request at INFO: with the playground open, its panel's polling.
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "moto", "mangum"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# -- up ------------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> int:
    from .local.function_log import redirect_function_output
    from .local.stack import boot

    _logging(args.verbose)
    settings = _settings(args)
    # Before any handler is imported: their JSON logs and EMF lines go to the log file.
    redirect_function_output(settings.state / "logs" / "functions.log", settings.log_max_bytes, settings.log_backups)
    stack = None
    try:
        # The functions' EMF lines become local CloudWatch metrics; the API is served below.
        stack = boot(settings, feed=True, watch=True, metrics=True, api=True)
        server = stack.api.server()
        # moto, boto3 and the models make a large heap that lives as long as the stack: keep it
        # out of the collector's full passes, each of which stalled requests for 0.1-0.5 s.
        gc.collect()
        gc.freeze()
        _banner(stack, stack.live_at_start)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if stack is not None:
            stack.stop()
    return 0


def _banner(stack: Any, live: dict[str, str]) -> None:
    s = stack.settings
    api = f"http://{s.host}:{s.api_port}"
    endpoint = stack.aws.endpoint
    auth = stack.template.parameters.get("InferenceAuth", "NONE")
    how = {"NONE": "open", "IAM": "SigV4-signed with the local credentials (testing/testing, us-east-1)",
           "JWT": "a bearer token from `lepton token`"}.get(auth, auth)
    console.print(f"\n[bold]Lepton local stack[/bold]\n  API        {api}\n  playground {api}/   (open it in a browser)"
                  f"\n  local AWS  {endpoint}"
                  f"   (aws --endpoint-url {endpoint} ...)\n  logs       {s.state / 'logs' / 'functions.log'}\n"
                  f"  captures   s3://{stack.names.get('CaptureBucket', '-')}/captures/   "
                  f"({_share_text(s.capture_sample_rate)} inference requests captured, for the replay gate; "
                  "--capture-rate)\n"
                  f"  inference  InferenceAuth={auth}: {how}\n")
    for spec in stack.template.functions().values():
        if spec.model_name:
            console.print(f"  {spec.model_name:<12} live version {live.get(spec.model_name, '-'):<4} "
                          f"{api}/v2/models/{spec.model_name}/infer   {api}/models/{spec.model_name}/predict")
    example = ('{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[13.0,0.12,22.0]}]}')
    console.print(f"\nTry:\n  curl -s {api}/v2/models/tabular/infer -H 'content-type: application/json' "
                  f"-d '{example}'\n\nCtrl-C stops the stack.\n", soft_wrap=True)


# -- token -------------------------------------------------------------------------------------
def cmd_token(args: argparse.Namespace) -> int:
    """A bearer token from the local stack's issuer, for `lepton up --inference-auth jwt`."""
    from .local.stack_settings import StackSettings

    issuer = StackSettings(root=find_root()).issuer
    print(issuer.token(audience=args.audience, subject=args.subject, seconds=int(args.minutes * 60)))
    return 0


# -- invoke --------------------------------------------------------------------------------------
def cmd_invoke(args: argparse.Namespace) -> int:
    from .local.local_aws import port_open
    from .local.stack import attach, boot

    _logging(args.verbose)
    event = json.loads(sys.stdin.read() if args.event == "-" else Path(args.event).read_text())
    settings = _settings(args)
    embedded = not port_open(settings.host, settings.aws_port)
    if embedded:
        settings = dataclasses.replace(settings, aws_port=_free_port())
        console.print(f"[dim]no local stack on :{args.aws_port}; starting an embedded one on :{settings.aws_port}[/dim]")
    # Function logs go to stderr so stdout carries only the response, as with `sam local invoke`.
    with contextlib.redirect_stdout(sys.stderr):
        # attached: its captured request goes to the running stack's S3, as its own do
        stack = boot(settings) if embedded else attach(settings, captures=True)
        try:
            result = stack.invoke(args.function, event)
        finally:
            stack.stop()
    print(json.dumps(result))
    return 0


def _share_text(rate: float | None) -> str:
    return "the template's share of" if rate is None else "all" if rate >= 1 else f"{rate:.0%} of"


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share from 0 to 1, not {text!r}")
    return value


def _parameter(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (a template parameter), got {text!r}")
    return key.strip(), value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lepton", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def stack_options(p: argparse.ArgumentParser, api: bool = True) -> None:
        p.add_argument("--host", default="127.0.0.1")
        if api:
            p.add_argument("--port", type=int, default=3000, help="local API port (default 3000)")
        p.add_argument("--aws-port", type=int, default=4566, help="local AWS (moto) port (default 4566)")
        p.add_argument("-v", "--verbose", action="store_true")

    up = sub.add_parser("up", help="start the local stack: API on :3000, AWS on :4566")
    stack_options(up)
    up.add_argument("--state-dir", type=Path, help="trained models, caches and logs (default .lepton/)")
    up.add_argument("--no-train", action="store_true", help="serve only models already trained (never train)")
    up.add_argument("--inference-auth", choices=["none", "iam", "jwt"], type=str.lower,
                    help="who may call the model routes, as the InferenceAuth template parameter "
                         "(default: its default, none); jwt: tokens from `lepton token`")
    up.add_argument("--models", help="comma-separated: publish and serve only these models (default: every one)")
    up.add_argument("--parameter-overrides", nargs="+", type=_parameter, metavar="KEY=VALUE",
                    help='template parameters, as `sam deploy` takes them, e.g. DriftSchedule="rate(5 minutes)"')
    up.add_argument("--log-max-mb", type=float, default=10.0,
                    help="rotate .lepton/logs/functions.log at this size (default 10 MB)")
    up.add_argument("--log-backups", type=int, default=3, help="older function logs kept (default 3)")
    up.add_argument("--capture-rate", type=_share, default=1.0,
                    help="share of inference requests captured to the local S3 for the replay gate "
                         "(CaptureSampleRate; default 1: every one, so a fresh stack has traffic to replay)")
    up.set_defaults(func=cmd_up)

    from .local.issuer import LOCAL_AUDIENCE

    token = sub.add_parser("token", help="print a bearer token for `lepton up --inference-auth jwt`")
    token.add_argument("--audience", default=LOCAL_AUDIENCE, help=f"aud claim (default {LOCAL_AUDIENCE})")
    token.add_argument("--subject", default="local-user", help="sub claim (default local-user)")
    token.add_argument("--minutes", type=float, default=60.0, help="lifetime (default 60)")
    token.set_defaults(func=cmd_token)

    invoke = sub.add_parser("invoke", help="run one function in-process with an event, like `sam local invoke`")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. TabularFunction")
    invoke.add_argument("-e", "--event", required=True, help="event JSON file, or - for stdin")
    stack_options(invoke, api=False)
    invoke.set_defaults(func=cmd_invoke)

    with contextlib.suppress(ImportError):
        from lepton_training.cli import register

        register(sub)
    # Commands from packages above this one (bench/) plug in through entry points: an import
    # from here would point up the import graph.
    for entry in entry_points(group="lepton.commands"):
        with contextlib.suppress(ImportError):
            entry.load()(sub)
    from .byom.cli import register as register_byom  # add, remove
    from .ops import register as register_ops  # models, versions, push, rollback, promote, deployments

    register_byom(sub)
    register_ops(sub)
    from .cost.cli import register as register_cost
    from .tune import register as register_tune

    register_cost(sub)
    register_tune(sub)
    from .batch import register as register_batch  # batch scoring jobs
    from .drift.cli import register as register_drift  # the drift check on captured requests

    register_batch(sub)
    register_drift(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
