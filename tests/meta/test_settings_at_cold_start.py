"""Every function reads its settings one way: typed, validated when it starts, never guessed.

Each function's handler module is imported in a fresh interpreter as Lambda's init phase runs
it (its code and layers on sys.path, the runtime API set, its environment with one bad value).
The bad value is logged at init, naming the variable, and the function's first piece of work is
refused with the same reason: a request answered 500, a queue message failed back to SQS. Before
this, a model function read LEPTON_MAX_BATCH=64k as 64 without a word.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventfiles import ROOT, load_event
from test_import_graph import MODEL_FUNCTIONS

RUN = """
import json, sys, importlib
sys.path[:0] = {paths!r}
module = importlib.import_module({module!r})  # the init phase: its log lines go to stdout
from lepton.local.context import LambdaContext
try:
    answer = module.lambda_handler({event!r}, LambdaContext({name!r}, 1024, 15.0))
except Exception as exc:  # what Lambda reports as the invocation's error
    answer = {{"raised": type(exc).__name__, "message": getattr(exc, "message", str(exc))}}
print("ANSWER " + json.dumps(answer))
"""
LAYERS = [str(ROOT / "layers" / "serving"), str(ROOT / "layers" / "deploy"), str(ROOT)]
DEPLOYER_ENV = {"LEPTON_FUNCTIONS": '{"tabular": "lepton-tabular"}', "LEPTON_DEPLOYMENTS_TABLE": "deployments",
                "LEPTON_MODEL_BUCKET": "models"}


def cold_start(folder: str, module: str, env: dict[str, str], event: dict) -> tuple[list[dict], dict]:
    """The init log lines (JSON) and the handler's answer to ``event``."""
    name = module.split(".")[0]
    code = RUN.format(paths=[str(ROOT / folder), *LAYERS], module=module, event=event, name=name)
    lambda_env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                  "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_DEFAULT_REGION": "us-east-1",
                  "POWERTOOLS_TRACE_DISABLED": "true", **env}
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd="/",
                            env=lambda_env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    answer = next(line for line in lines if line.startswith("ANSWER "))
    return logs, json.loads(answer.removeprefix("ANSWER "))


def refused_at_init(logs: list[dict], variable: str) -> list[str]:
    return [log["reason"] for log in logs if log.get("level") == "ERROR" and variable in log.get("reason", "")]


@pytest.mark.parametrize("folder", sorted(MODEL_FUNCTIONS))
def test_a_model_function_refuses_a_bad_batch_limit_at_init_and_answers_every_request_with_it(folder):
    model = MODEL_FUNCTIONS[folder]
    env = {"LEPTON_MODEL_NAME": model, "LEPTON_MODEL_BUCKET": "models", "LEPTON_MAX_BATCH": "64k"}
    event = load_event(f"{model}/infer.json") if (ROOT / "events" / model / "infer.json").is_file() else load_event(
        "tabular/infer.json")
    logs, answer = cold_start(folder, f"{model}.handler", env, event)
    reason = f"the model function {model} is misconfigured: LEPTON_MAX_BATCH must be a whole number, got '64k'"
    assert refused_at_init(logs, "LEPTON_MAX_BATCH") == [reason]
    assert answer["statusCode"] == 500 and json.loads(answer["body"]) == {"error": reason}


def test_the_deployer_refuses_a_canary_weight_of_one_and_a_half_at_init_and_fails_every_message():
    env = {**DEPLOYER_ENV, "LEPTON_CANARY_WEIGHT": "1.5"}
    event = load_event("deployer/sqs-batch.json")
    logs, answer = cold_start("functions/deployer", "deployer.handler", env, event)
    assert refused_at_init(logs, "LEPTON_CANARY_WEIGHT")
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}


def test_the_control_api_refuses_an_upload_lifetime_it_cannot_read_at_init_and_answers_every_request_with_it():
    env = {**DEPLOYER_ENV, "LEPTON_UPLOAD_URL_SECONDS": "soon"}
    logs, answer = cold_start("functions/control", "control.handler", env, load_event("control/list-models.json"))
    reason = "the control API is misconfigured: LEPTON_UPLOAD_URL_SECONDS must be a whole number, got 'soon'"
    assert refused_at_init(logs, "LEPTON_UPLOAD_URL_SECONDS") == [reason]
    assert answer["statusCode"] == 500 and json.loads(answer["body"]) == {"error": reason}


def test_the_drift_function_refuses_an_alarm_below_its_warning_at_init_and_fails_every_run_with_it():
    env = {**DEPLOYER_ENV, "LEPTON_CAPTURE_BUCKET": "captures", "LEPTON_DRIFT_WARNING": "0.3",
           "LEPTON_DRIFT_ALARM": "0.2", "LEPTON_DRIFT_WINDOW_HOURS": "a day"}
    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    logs, answer = cold_start("functions/drift", "drift.handler", env, scheduled)
    reason = ("the drift function is misconfigured: LEPTON_DRIFT_WARNING (0.3) must be above 0 and at most "
              "LEPTON_DRIFT_ALARM (0.2); LEPTON_DRIFT_WINDOW_HOURS must be a whole number, got 'a day'")
    assert refused_at_init(logs, "LEPTON_DRIFT_ALARM") == [reason]
    # the scheduled run fails (Lambda counts an error, EventBridge retries) with the same reason
    assert answer == {"raised": "ConfigError", "message": reason}
