"""`lepton add <name> --model file.onnx` and `lepton remove <name>`.

`add` checks everything first (the name, the file, the labels, the sample, a run under
onnxruntime) and only then writes: the artifact (.lepton/artifacts/<name>/: model.onnx,
manifest.json, sample.json), the function package (functions/<name>/) and, last, template.yaml.
A running local stack sees template.yaml change, starts serving the function and publishes the
artifact as the model's next version through the normal upload path (model first, manifest
last); `add` waits for the deployer's decision. With no stack running, `lepton up` publishes it.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lepton_serving.manifest import Task
from rich.console import Console
from rich.markup import escape

from ..project import find_root
from .errors import Refused

if TYPE_CHECKING:
    from .template_edit import TemplateFile

DEFAULT_MAX_MODEL_BYTES = 100 * 1024 * 1024


def register(subparsers: Any) -> None:
    add = subparsers.add_parser("add", help="serve your own ONNX model: its own function, routes and policy",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("name", help="the model's name: lower-case letters, digits and '-', e.g. churn")
    add.add_argument("--model", required=True, type=Path, help="the .onnx file")
    add.add_argument("--labels", action="append", default=[], metavar="[OUTPUT=]FILE",
                     help="a text file, one label per line, for a score output; with several score outputs, "
                          "once per output as OUTPUT=FILE")
    add.add_argument("--tokenizer", type=Path, help="the model's Hugging Face tokenizer.json: the function then "
                                                    "takes text (the graph takes input_ids and attention_mask)")
    add.add_argument("--max-length", type=int, help="most tokens per text, when neither the graph nor the "
                                                    "tokenizer.json fixes it")
    add.add_argument("--fix-locale", action="store_true",
                     help="rewrite a StringNormalizer locale that Lambda's runtime lacks to C.UTF-8")
    add.add_argument("--sample", type=Path, help='a request for the golden example: {"instances": [...]}, '
                                                  '{"inputs": {name: rows}}, {"texts": [...]} or a V2 body '
                                                  '(default: generated)')
    add.add_argument("--reference", type=Path, help="inputs like those the model should expect (.npy or .jsonl): its "
                                                     "reference profile for drift (default: the first captured window)")
    add.add_argument("--memory", type=int, help="the function's memory in MB (default: measured from the "
                                                "model's session footprint, printed)")
    add.add_argument("--task", choices=[str(t) for t in Task],
                     help="what the outputs mean, for the replay gate's comparison of versions "
                          "(default: read from the outputs, and said)")
    _stack_options(add)
    add.set_defaults(func=cmd_add)
    remove = subparsers.add_parser("remove", help="take an added model out again: function, routes, template")
    remove.add_argument("name")
    remove.add_argument("--purge", action="store_true",
                        help="also delete its versions (models/<name>/) from a running local stack's bucket; "
                             "without it they are kept, and `lepton add` of the name serves them again")
    _stack_options(remove)
    remove.set_defaults(func=cmd_remove)


def _stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="where a running local stack listens")
    parser.add_argument("--port", type=int, default=3000, help="its API port, for the example (default 3000)")
    parser.add_argument("--aws-port", type=int, default=4566, help="its local AWS port (default 4566)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the deployer (default 60)")


def cmd_add(args: argparse.Namespace) -> int:
    from lepton_deploy.clock import now_iso
    from lepton_deploy.monitoring.baselines import BASELINE_ROWS

    out = Console(highlight=False)
    started = now_iso()
    try:
        root = find_root()
        added = add_model(root, args.name, args.model, args.labels, args.sample, args.memory,
                          tokenizer_path=args.tokenizer, max_length=args.max_length, fix_locale=args.fix_locale,
                          task=args.task, reference_path=args.reference)
    except Refused as exc:
        return _refused("add", args.name, exc)
    out.print(f"[bold]{args.name}[/bold]: {added['model'].path.name} checked and ready to serve", soft_wrap=True)
    for line in added["model"].summary():
        out.print(f"  {line}", soft_wrap=True, markup=False)
    if added["tokenizer"] is not None:
        out.print(f"  {added['tokenizer'].summary()}", soft_wrap=True, markup=False)
    out.print(f"  memory    {added['memory']}", soft_wrap=True, markup=False)
    out.print(f"  task      {added['task']}", soft_wrap=True, markup=False)
    reference = added["manifest"].reference
    out.print(f"  drift     reference profile of {reference.rows:,} rows from {args.reference.name}" if reference else
              f"  drift     no --reference: its first {BASELINE_ROWS:,} captured rows will be its baseline (drift "
              "since it went live, not from its training data)", soft_wrap=True, markup=False)
    out.print(f"  wrote     {added['function']}/ (handler and a model.py hook file), {added['artifact']}/, "
              f"template.yaml ({added['logical_id']}, its routes, policy and {added['parameter']} parameter)",
              soft_wrap=True)
    return _publish_or_say(args, root, out, started, takes_text=added["takes_text"])


def cmd_remove(args: argparse.Namespace) -> int:
    """The function, its routes and its template entries go; a running stack stops serving the
    model, and its repository index, status and playground no longer list it (they list the
    models a function serves). The versions in the bucket stay unless --purge."""
    out = Console(highlight=False)
    try:
        removed = remove_model(find_root(), args.name)
    except Refused as exc:
        return _refused("remove", args.name, exc)
    out.print(f"removed {args.name}: {', '.join(removed)}", soft_wrap=True)
    if args.purge:
        return _purge(args, out)
    return 0


def _purge(args: argparse.Namespace, out: Console) -> int:
    from lepton_serving.bucket import ModelBucket
    from lepton_serving.errors import LeptonError

    from ..local.local_aws import LocalAws, port_open
    from ..local.stack_settings import StackSettings

    bucket = StackSettings().bucket
    if not port_open(args.host, args.aws_port):
        out.print(f"[yellow]no local stack on :{args.aws_port}: nothing purged[/yellow]. For a deployed stack: "
                  f"aws s3 rm s3://<its ModelBucket>/models/{args.name}/ --recursive", soft_wrap=True)
        return 1
    try:
        deleted = ModelBucket(LocalAws(args.host, args.aws_port, external=True).client("s3"), bucket).purge(args.name)
    except LeptonError as exc:
        return _refused("remove --purge", args.name, Refused(exc.message, "is the local stack still running?"))
    out.print(f"purged s3://{bucket}/models/{args.name}/: {deleted} object version(s)", soft_wrap=True)
    return 0


def _refused(command: str, name: str, exc: Refused) -> int:
    Console(stderr=True, highlight=False).print(f"[red]lepton {command} {name}: refused[/red] — {escape(exc.message)}",
                                                soft_wrap=True)
    return 1


# -- the steps -------------------------------------------------------------------------------------
def add_model(root: Path, name: str, model_path: Path, labels: list[str] | Path | None = None,
              sample_path: Path | None = None, memory_mb: int | None = None, *, tokenizer_path: Path | None = None,
              max_length: int | None = None, fix_locale: bool = False, task: str | None = None,
              reference_path: Path | None = None) -> dict[str, Any]:
    """Check everything, then write the artifact, the function and template.yaml (in that order)."""
    # Here, not at the top: onnx and onnxruntime load only when a model is added, not for every command.
    from lepton_deploy.admission import Refusal, check_reference, check_tokenizer
    from lepton_serving.text import string_input

    from . import golden, memory, names, scaffold
    from .inspection import inspect_model, refused
    from .reference import reference_profile, write_reference
    from .template_edit import TemplateFile
    from .tokenizer import GOLDEN_TEXTS, golden_request, read_tokenizer

    template = TemplateFile(root / "template.yaml")
    names.check_new(name, root, template, memory_mb or 1024)
    model = inspect_model(model_path, max_model_bytes(template), fix_locale=fix_locale)
    tokenizer = read_tokenizer(tokenizer_path, model, max_length) if tokenizer_path else None
    plain, per_output = golden.read_labels([str(labels)] if isinstance(labels, Path) else list(labels or []), model)
    request = None
    if tokenizer is not None:
        texts = golden.sample_texts(sample_path) or GOLDEN_TEXTS
        inputs, request = tokenizer.encode(texts), golden_request(texts)
    else:
        inputs = golden.sample_inputs(sample_path, model) if sample_path else golden.generated_inputs(model)
    outputs = golden.run(model, inputs, "sample" if sample_path or tokenizer else "generated")
    manifest = golden.build_manifest(name, model, plain, inputs, outputs, per_output,
                                     tokenizer.pinned if tokenizer else None, request)
    task_said = _task(manifest, task)
    if tokenizer is not None:
        try:  # the gate's own check, so what it would refuse is refused here
            check_tokenizer(manifest, tokenizer.data)
        except Refusal as exc:
            raise refused(exc) from exc
    reference = reference_profile(reference_path, model, manifest) if reference_path else None
    if reference is not None:
        try:  # the gate's own check of the profile it will read
            check_reference(manifest, reference)
        except Refusal as exc:
            raise refused(exc) from exc
    footprint = memory.measure(model.data, inputs, tokenizer=tokenizer is not None)
    chosen = memory_mb or (footprint.memory_mb if footprint else memory.FLOOR_MB)
    described = (f"{chosen} MB (--memory)" if memory_mb else footprint.describe() if footprint
                 else f"{chosen} MB (the footprint could not be measured; --memory overrides)")
    fn = names.model_function(name, chosen)
    template.add_model(fn, f"Model {name} (ONNX, added with lepton add), served by the generic model; "
                           f"hooks in functions/{name}/{fn.package}/model.py.", tokenizers=tokenizer is not None)
    artifact = root / ".lepton" / "artifacts" / name
    written: list[Path] = []
    try:
        written.append(artifact)
        if reference is not None:
            write_reference(artifact, reference)
        golden.write_artifact(artifact, model, manifest, inputs, tokenizer.data if tokenizer else None)
        written.append(scaffold.write_function(root, fn, manifest))
        template.save()  # last: a running stack reacts to it
    except BaseException:
        for folder in written:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"model": model, "manifest": manifest, "function": f"functions/{name}", "logical_id": fn.logical_id,
            "parameter": fn.memory_parameter, "artifact": f".lepton/artifacts/{name}", "tokenizer": tokenizer,
            "memory": described, "memory_mb": chosen, "task": task_said,
            "takes_text": tokenizer is not None or string_input(manifest.inputs) is not None}


def _task(manifest: Any, given: str | None) -> str:
    """The manifest's task: ``given`` (--task), else read from the outputs; what to tell the user."""
    from lepton_deploy.replay import infer_task

    if given:
        manifest.task = given
        return f"{given} (--task)"
    task, why = infer_task(manifest.inputs, manifest.outputs, manifest.labels)
    manifest.task = str(task)
    return f"{task}, read from the outputs ({why}); the replay gate compares versions as a {task}, --task says otherwise"


def remove_model(root: Path, name: str) -> list[str]:
    from ..local.artifacts import trainable_families
    from . import names, scaffold
    from .template_edit import TemplateFile

    template = TemplateFile(root / "template.yaml")
    names.check_form(name)
    served = {model: lid for lid, model in template.model_functions().items()}
    if name not in served:
        raise Refused(f"no function in template.yaml serves a model named '{name}'",
                      f"the model functions are {', '.join(sorted(served)) or 'none'}")
    if name in trainable_families():
        raise Refused(f"'{name}' is one of the families Lepton trains; its function is hand-written code",
                      "`lepton remove` only takes out models added with `lepton add`")
    logical_id = served[name]
    memory = template.resources[logical_id]["Properties"].get("MemorySize")
    parameter = getattr(memory, "value", "") if getattr(memory, "tag", None) == "!Ref" else ""
    template.remove_model(logical_id, name, parameter)
    template.save()
    removed = [f"{logical_id} and its routes from template.yaml"]
    if scaffold.remove_function(root, name):
        removed.append(f"functions/{name}/")
    artifact = root / ".lepton" / "artifacts" / name
    if artifact.is_dir():
        shutil.rmtree(artifact)
        removed.append(f".lepton/artifacts/{name}/")
    return removed


def max_model_bytes(template: TemplateFile) -> int:
    """The deployer's size budget (LEPTON_MAX_MODEL_BYTES), which every model must fit."""
    for logical_id in template.functions():
        raw = template.env_value(logical_id, "LEPTON_MAX_MODEL_BYTES")
        if raw.isascii() and raw.isdigit():
            return int(raw)
    return DEFAULT_MAX_MODEL_BYTES


# -- after writing -------------------------------------------------------------------------------
def _publish_or_say(args: argparse.Namespace, root: Path, out: Console, started: str, takes_text: bool = False) -> int:
    from ..local.local_aws import port_open

    api = f"http://{args.host}:{args.port}"
    curl = (f"curl -s {api}/v2/models/{args.name}/infer -H 'content-type: application/json' "
            f"-d @.lepton/artifacts/{args.name}/sample.json")
    if takes_text:  # the friendly route takes raw strings
        curl += (f"\n  curl -s {api}/models/{args.name}/predict -H 'content-type: application/json' "
                 """-d '{"texts": ["Great phone, the sound is wonderful."]}'""")
    if not port_open(args.host, args.aws_port):
        out.print(f"\nNo local stack on :{args.aws_port}. `lepton up` serves {args.name} and publishes it as "
                  f"version 1; then:\n  {escape(curl)}\n`sam build && sam deploy` deploys the function with the rest; "
                  f"publish the model with `lepton push {args.name} .lepton/artifacts/{args.name} --stack <name>`.",
                  soft_wrap=True)
        return 0
    out.print(f"\nThe local stack on :{args.aws_port} picks it up and publishes it; waiting for the deployer…")
    attempt = local_decision(args.host, args.aws_port, args.name, args.timeout, started)
    if attempt is None:
        out.print(f"[yellow]no decision on {args.name} after {args.timeout:.0f} s[/yellow]: is that stack serving "
                  f"{root}? Restart it (`lepton up`) to serve {args.name}.", soft_wrap=True)
        return 1
    out.print(f"{args.name} v{attempt.version}: {attempt.outcome} — {attempt.reason}", soft_wrap=True, markup=False)
    if not attempt.outcome.serving:
        return 1
    out.print(f"\nTry:\n  {escape(curl)}", soft_wrap=True)
    return 0


def local_decision(host: str, port: int, model: str, timeout: float, since: str | None = None) -> Any:
    """The local stack's deployer's first final decision on ``model`` recorded after ``since`` (default: now)."""
    from lepton_deploy.clock import now_iso
    from lepton_deploy.registry import Registry
    from lepton_serving.table import DeploymentsTable

    from ..decisions import wait_for_decision
    from ..local.local_aws import LocalAws
    from ..local.provisioning import PREFIX

    registry = Registry(DeploymentsTable(LocalAws(host, port, external=True).client("dynamodb"),
                                         f"{PREFIX}-deployments"))
    return wait_for_decision(lambda: registry.list_deployments(model, limit=5), since=since or now_iso(),
                             timeout=timeout)

