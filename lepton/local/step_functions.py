"""The batch state machine in the local AWS, run by moto's own Step Functions interpreter.

moto executes state machines (its `stepfunctions/parser`, a port of LocalStack's ASL engine) only
with `execute_state_machine` on in its configuration; its tasks then call AWS through boto3
clients aimed at localhost:MOTO_PORT, this process's moto server. A Lambda task's Invoke reaches
the local AWS's Invoke, which runs the function version in this process (lambda_invoke.py).

The state machine is created from template.yaml's own definition, never a local variant. moto
5.2.5's ASL grammar has no ItemBatcher, no ExecutionType EXPRESS and no ReaderConfig InputType
JSONL, all three of which the batch definition needs, so moto refuses to create it. Then no batch
state machine exists locally and the control API says why (LEPTON_BATCH_UNAVAILABLE, naming the
missing fields); nothing stands in for the interpreter. `unsupported` finds the fields, so the day
moto's grammar has them, the same code creates the machine and batch jobs run locally.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from .template import Template

STATE_MACHINE, BUCKET = "BatchStateMachine", "BatchBucket"
ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
               '"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


def enable_interpreter(port: int) -> Callable[[], None]:
    """Let moto run state machines, its tasks' clients calling the moto server on ``port``.
    Returns what undoes it (the configuration is the process's)."""
    from moto.core.config import default_user_config

    saved, saved_port = default_user_config.get("stepfunctions"), os.environ.get("MOTO_PORT")
    default_user_config["stepfunctions"] = {**(saved or {}), "execute_state_machine": True}
    os.environ["MOTO_PORT"] = str(port)  # moto.settings.moto_server_port(): where its tasks' clients go

    def undo() -> None:
        if saved is None:
            default_user_config.pop("stepfunctions", None)
        else:
            default_user_config["stepfunctions"] = saved
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port

    return undo


def provision(client: Callable[[str], Any], template: Template, prefix: str) -> dict[str, Any]:
    """Create the batch bucket and, if moto can run it, the batch state machine. Returns env
    entries (LEPTON_BATCH_UNAVAILABLE when it cannot) and, under ``_names``, what was created."""
    resources = template.resources
    if STATE_MACHINE not in resources:
        return {"_names": {}}
    bucket = f"{prefix}-batch"
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    names: dict[str, str] = {BUCKET: bucket, f"{BUCKET}.Arn": f"arn:aws:s3:::{bucket}"}
    definition = resources[STATE_MACHINE]["Properties"]["Definition"]
    missing = unsupported(definition)
    if missing:
        return {"LEPTON_BATCH_UNAVAILABLE": gap(missing), "_names": {**names, STATE_MACHINE: ""}}
    iam = client("iam")
    try:
        role = iam.get_role(RoleName=f"{prefix}-batch")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=f"{prefix}-batch", AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    name = f"{prefix}-batch"
    arn = client("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=role,
                                                       type="STANDARD")["stateMachineArn"]
    return {"_names": {**names, STATE_MACHINE: arn, f"{STATE_MACHINE}.Name": name}}


def gap(missing: list[str]) -> str:
    return (f"moto's Step Functions interpreter cannot run the batch state machine: its ASL grammar has no "
            f"{', '.join(missing)}; deploy the stack (sam deploy) to run batch jobs")


def unsupported(definition: dict[str, Any]) -> list[str]:
    """What of ``definition`` moto's interpreter cannot run: [] when its parser takes the whole
    definition, else the field names and enumerated values its grammar (or its enums) lack."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    try:
        AmazonStateLanguageParser.parse(json.dumps(definition))
        return []
    except Exception as exc:  # noqa: BLE001 - any refusal; named below, field by field
        refusal = f"{type(exc).__name__}: {str(exc)[:300]}"
    known = _known_words()
    found = [w for w in dict.fromkeys(_words(definition)) if w not in known]
    return found or [f"a construct it refuses ({refusal})"]


def _known_words() -> set[str]:
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.reader_config.csv_header_location import \
        CSVHeaderLocationValue
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.reader_config.input_type import \
        InputTypeValue

    literals = {name.strip("'\"") for name in ASLLexer.literalNames if name}
    # InputType and CSVHeaderLocation are free strings to the grammar, checked against these enums
    return literals | {v.value for v in InputTypeValue} | {v.value for v in CSVHeaderLocationValue}


#: Fields whose value is an enumeration the grammar spells out (the rest are free strings).
_ENUMERATED = {"Type", "Mode", "ExecutionType", "InputType", "CSVHeaderLocation", "JitterStrategy", "QueryLanguage"}
#: Fields whose value is the workflow's own data, not ASL.
_PAYLOADS = {"Parameters", "ResultSelector", "ItemSelector", "BatchInput", "Arguments", "Output", "Assign", "Result"}


def _words(node: Any, mode: str = "asl") -> Iterator[str]:
    """ASL field names (without `.$`) and enumerated values; payloads are skipped, state names too."""
    if isinstance(node, list):
        for value in node:
            yield from _words(value, mode)
    elif isinstance(node, dict) and mode == "states":
        for value in node.values():
            yield from _words(value, "asl")
    elif isinstance(node, dict) and mode == "asl":
        for key, value in node.items():
            field = key.removesuffix(".$")
            yield field
            if key in _ENUMERATED and isinstance(value, str):
                yield value
            if field not in _PAYLOADS:
                yield from _words(value, "states" if key == "States" else "asl")
