"""template.yaml: lint-clean, and every function wired the way Lambda and API Gateway need it."""
from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
API_GATEWAY_TIMEOUT = 30  # seconds: an HTTP API integration can never wait longer


@pytest.fixture(scope="module")
def template() -> dict:
    parsed, matches = decode(str(TEMPLATE))  # cfn-lint's own loader: knows !Ref, !Sub, !GetAtt
    assert not matches, [str(m) for m in matches]
    return parsed


def resources_of(template: dict, kind: str) -> dict[str, dict]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def functions(template: dict) -> dict[str, dict]:
    """Every AWS::Serverless::Function's properties with Globals.Function applied (as SAM does)."""
    defaults = template.get("Globals", {}).get("Function", {})
    out = {}
    for name, res in resources_of(template, "AWS::Serverless::Function").items():
        props = {**defaults, **res["Properties"]}
        env = {**defaults.get("Environment", {}).get("Variables", {}),
               **res["Properties"].get("Environment", {}).get("Variables", {})}
        props["Environment"] = {"Variables": env}
        out[name] = props
    return out


def http_api_events(props: dict) -> list[dict]:
    return [e["Properties"] for e in props.get("Events", {}).values() if e["Type"] == "HttpApi"]


def test_template_has_functions(template: dict) -> None:
    assert functions(template), "no AWS::Serverless::Function in template.yaml"


# ---------------------------------------------------------------------------- linters
def test_cfn_lint_reports_nothing() -> None:
    exe = Path(sys.executable).with_name("cfn-lint")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    result = subprocess.run([*cmd, str(TEMPLATE)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    # Exit code 0 means no error, warning or informational finding; the output must be empty too.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def find_sam() -> str | None:
    local = ROOT / ".venv-sam" / "bin" / "sam"  # aws-sam-cli pins boto3/click: its own tool venv
    return str(local) if local.exists() else shutil.which("sam")


# `make test` makes .venv-sam: in CI a missing SAM CLI fails the test instead of skipping it.
@pytest.mark.skipif(find_sam() is None and not os.environ.get("CI"),
                    reason="SAM CLI not found: neither `sam` on PATH nor .venv-sam/bin/sam (`make sam-validate` makes it)")
def test_sam_validate_lint() -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run([find_sam(), "validate", "--lint", "--template-file", str(TEMPLATE)],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


# ---------------------------------------------------------------------------- code and layers
def test_every_handler_imports_from_its_code_uri_without_touching_aws(template, monkeypatch) -> None:
    import socket

    # Outside Lambda, serve() must not load a model (nor reach S3) at import time.
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)

    attempts: list[tuple] = []

    def no_network(*args, **kwargs):
        attempts.append(args[1:] or args)  # recorded, since the code under test may swallow the error
        raise OSError("network access while importing a handler")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)

    for name, props in functions(template).items():
        code_uri = (ROOT / props["CodeUri"]).resolve()
        assert code_uri.is_dir(), f"{name}: CodeUri {props['CodeUri']} does not exist"
        # Lambda: /var/task (CodeUri) first, then /opt/python (the function's layers).
        for layer in reversed(props.get("Layers", [])):
            content = template["Resources"][layer["Ref"]]["Properties"]["ContentUri"]
            if (ROOT / content / "Makefile").is_file() and layer["Ref"] != "OnnxRuntimeLayer":
                monkeypatch.syspath_prepend(str(ROOT / content))
        monkeypatch.syspath_prepend(str(code_uri))
        module_name, _, attr = props["Handler"].rpartition(".")
        assert module_name, f"{name}: Handler '{props['Handler']}' is not module.function"
        package = module_name.split(".")[0]
        # A fresh import, so module-level code really runs here; earlier imports are put back after.
        saved = {k: v for k, v in sys.modules.items() if k == package or k.startswith(package + ".")}
        for key in saved:
            del sys.modules[key]
        try:
            try:
                module = importlib.import_module(module_name)
            except Exception:
                assert attempts == [], f"{name}: importing {module_name} opened connections to {attempts}"
                raise
            handler = getattr(module, attr, None)
            assert callable(handler), f"{name}: {props['Handler']} is not callable"
            assert Path(module.__file__).resolve().is_relative_to(code_uri), (name, module.__file__)
            assert attempts == [], f"{name}: importing {module_name} opened connections to {attempts}"
            # A lepton_serving Handler must not have loaded its model during import.
            plane = getattr(handler, "plane", None)
            if plane is not None:
                assert plane.model.ready is False
        finally:
            for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
                del sys.modules[key]
            sys.modules.update(saved)


def test_layers_exist_and_their_makefiles_have_the_sam_target(template: dict) -> None:
    layers = resources_of(template, "AWS::Serverless::LayerVersion")
    assert layers
    for name, res in layers.items():
        content = ROOT / res["Properties"]["ContentUri"]
        assert content.is_dir(), f"{name}: ContentUri {content} does not exist"
        if res.get("Metadata", {}).get("BuildMethod") == "makefile":
            makefile = (content / "Makefile").read_text()
            assert re.search(rf"^build-{name}:", makefile, re.M), f"{content}/Makefile has no build-{name} target"


def test_functions_reference_only_layers_in_the_template(template: dict) -> None:
    layers = set(resources_of(template, "AWS::Serverless::LayerVersion"))
    for name, props in functions(template).items():
        for layer in props.get("Layers", []):
            assert isinstance(layer, dict) and layer.get("Ref") in layers, f"{name}: layer {layer}"


def test_one_architecture_parameter_drives_functions_and_layer_builds(template: dict) -> None:
    ref = {"Ref": "Architecture"}
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"
    assert template["Globals"]["Function"]["Architectures"] == [ref]
    for name, props in functions(template).items():
        assert props["Architectures"] == [ref], name
    for name, res in resources_of(template, "AWS::Serverless::LayerVersion").items():
        assert res["Properties"]["CompatibleArchitectures"] == [ref], name
        # sam build resolves this; the Makefile's own default (ARCH=arm64) matches the Default.
        assert res["Metadata"]["BuildArchitecture"] == ref, name
        assert re.search(r"^ARCH \?= arm64$", (ROOT / res["Properties"]["ContentUri"] / "Makefile").read_text(), re.M)


# ---------------------------------------------------------------------------- runtime settings
def test_runtime_is_python312(template: dict) -> None:
    for name, props in functions(template).items():
        assert props.get("Runtime") == "python3.12", name
    for name, res in resources_of(template, "AWS::Serverless::LayerVersion").items():
        assert res["Properties"]["CompatibleRuntimes"] == ["python3.12"], name


def test_every_function_publishes_the_live_alias(template: dict) -> None:
    for name, props in functions(template).items():
        assert props.get("AutoPublishAlias") == "live", name


def test_http_functions_time_out_before_api_gateway_does(template: dict) -> None:
    for name, props in functions(template).items():
        if http_api_events(props):
            timeout = props.get("Timeout", 3)  # Lambda's default
            assert isinstance(timeout, int) and timeout < API_GATEWAY_TIMEOUT, f"{name}: Timeout {timeout}"


def test_http_routes_are_unique(template: dict) -> None:
    seen: dict[tuple[str, str], str] = {}
    for name, props in functions(template).items():
        for event in http_api_events(props):
            route = (event.get("Method", "ANY").upper(), event["Path"])
            assert route not in seen, f"{route} is routed to both {seen[route]} and {name}"
            seen[route] = name
    assert seen


# ---------------------------------------------------------------------------- permissions
def s3_statements(props: dict) -> list[dict]:
    out = []
    for policy in props.get("Policies", []):
        # Managed policies and SAM's S3 policy templates (S3ReadPolicy & co) grant whole buckets.
        if isinstance(policy, str):
            assert "S3" not in policy and policy not in ("AdministratorAccess", "PowerUserAccess"), policy
            continue
        if "Statement" not in policy:
            assert not any(key.startswith("S3") for key in policy), f"bucket-wide policy template: {policy}"
            continue
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a == "*" or a.lower().startswith("s3:") for a in actions):
                out.append({**statement, "Action": actions})
    return out


def test_model_functions_read_only_their_own_model_prefix(template: dict) -> None:
    model_functions = {n: p for n, p in functions(template).items() if "LEPTON_MODEL_NAME" in p["Environment"]["Variables"]}
    assert model_functions
    for name, props in model_functions.items():
        model = props["Environment"]["Variables"]["LEPTON_MODEL_NAME"]
        statements = s3_statements(props)
        assert statements, f"{name} cannot read its model"
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert statement["Action"] == ["s3:GetObject"], f"{name}: {statement['Action']}"
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            assert resources == [{"Fn::Sub": f"${{ModelBucket.Arn}}/models/{model}/*"}], f"{name}: {resources}"


LAYER_ACTIONS = {"lambda:PublishLayerVersion", "lambda:GetLayerVersion", "lambda:ListLayerVersions",
                 "lambda:DeleteLayerVersion"}


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_the_deployer_and_the_control_api_know_and_may_move_exactly_the_model_functions(template: dict) -> None:
    all_functions = functions(template)
    models = {n: p["Environment"]["Variables"]["LEPTON_MODEL_NAME"] for n, p in all_functions.items()
              if "LEPTON_MODEL_NAME" in p["Environment"]["Variables"]}
    for name in ("DeployerFunction", "ControlFunction"):
        props = all_functions[name]
        mapping = props["Environment"]["Variables"]["LEPTON_FUNCTIONS"]["Fn::ToJsonString"]
        assert mapping == {model: {"Ref": lid} for lid, model in models.items()}, name
        statements = [s for p in props["Policies"] for s in p.get("Statement", [])
                      if any(str(a).startswith("lambda:") for a in actions(s)) and not set(actions(s)) <= LAYER_ACTIONS]
        assert statements, name
        for statement in statements:
            by_arn = {r["Fn::GetAtt"][0] for r in statement["Resource"] if "Fn::GetAtt" in r}
            by_version = {r["Fn::Sub"].removeprefix("${").removesuffix(".Arn}:*") for r in statement["Resource"]
                          if "Fn::Sub" in r}
            assert by_version == set(models), (name, statement.get("Sid"))
            # the functions themselves too, except where only their versions may be touched
            only_versions = statement.get("Sid") in ("PreTrafficCalls", "ReplayCalls")
            assert by_arn == (set() if only_versions else set(models)), statement.get("Sid")



def test_the_deployer_manages_only_its_own_model_layers_and_may_keep_every_layer_a_model_function_has(
        template: dict) -> None:
    all_functions = functions(template)
    deployer = all_functions["DeployerFunction"]
    statements = {s["Sid"]: s for p in deployer["Policies"] for s in p.get("Statement", [])}
    # publish/list/delete: only layers named with the prefix the deployer is given, unique to this stack
    model_layers = statements["ModelLayers"]
    assert set(actions(model_layers)) == LAYER_ACTIONS
    resource, suffix = model_layers["Resource"]["Fn::Sub"]
    prefix, prefix_suffix = deployer["Environment"]["Variables"]["LEPTON_MODEL_LAYER_PREFIX"]["Fn::Sub"]
    assert resource == f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:layer:{prefix}-*"
    assert prefix == "lepton-model-${StackSuffix}" and suffix == prefix_suffix
    # UpdateFunctionConfiguration needs GetLayerVersion on each layer a model function keeps
    kept = statements["KeepSharedLayers"]
    assert actions(kept) == ["lambda:GetLayerVersion"]
    layers = [ref for props in all_functions.values() if "LEPTON_MODEL_NAME" in props["Environment"]["Variables"]
              for ref in props["Layers"]]
    assert layers and all(ref in kept["Resource"] for ref in layers), (layers, kept["Resource"])
    # the budget is a number the deployer reads, and within Lambda's 50 MB request limit
    budget = int(deployer["Environment"]["Variables"]["LEPTON_MODEL_LAYER_MAX_BYTES"])
    assert 0 < budget <= 50 * 1024 * 1024


def test_every_model_function_sends_its_capture_records_through_its_own_stream_to_its_own_prefix(template) -> None:
    resources = template["Resources"]
    models = {n: p["Environment"]["Variables"]["LEPTON_MODEL_NAME"] for n, p in functions(template).items()
              if "LEPTON_MODEL_NAME" in p["Environment"]["Variables"]}
    streams = resources_of(template, "AWS::KinesisFirehose::DeliveryStream")
    filters = resources_of(template, "AWS::Logs::SubscriptionFilter")
    allowed = next(s for p in resources["CaptureLogsRole"]["Properties"]["Policies"]
                   for s in p["PolicyDocument"]["Statement"] if s.get("Sid") == "ModelCaptureStreams")["Resource"]
    assert len(streams) == len(filters) == len(models)
    for function, model in models.items():
        stream = streams[f"{function}CaptureStream"]["Properties"]
        destination = stream["ExtendedS3DestinationConfiguration"]
        assert destination["BucketARN"] == {"Fn::GetAtt": ["CaptureBucket", "Arn"]}
        assert (destination["Prefix"], destination["ErrorOutputPrefix"]) == (f"captures/{model}/",
                                                                              f"capture-errors/{model}/")
        # stored as CloudWatch Logs delivers them (gzip'ed): the reader decodes exactly that
        assert destination["CompressionFormat"] == "UNCOMPRESSED" and "ProcessingConfiguration" not in destination
        subscription = filters[f"{function}Captures"]["Properties"]
        assert subscription["LogGroupName"] == {"Ref": f"{function}Logs"}
        assert subscription["FilterPattern"] == "{ $.lepton_capture = 1 }"
        assert subscription["DestinationArn"] == {"Fn::GetAtt": [f"{function}CaptureStream", "Arn"]}
        assert {"Fn::GetAtt": [f"{function}CaptureStream", "Arn"]} in allowed
    # the records expire: the whole bucket, after CaptureRetentionDays
    rules = resources["CaptureBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [(r["Status"], r["ExpirationInDays"], r.get("Prefix")) for r in rules] == [
        ("Enabled", {"Ref": "CaptureRetentionDays"}, None)]
    # every model function reads its share and redaction from the template's parameters
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["LEPTON_CAPTURE_SAMPLE_RATE"] == {"Ref": "CaptureSampleRate"}
    assert env["LEPTON_CAPTURE_REDACT"] == {"Ref": "CaptureRedactInputs"}
    assert template["Parameters"]["CaptureSampleRate"]["Default"] == 0.05


def test_only_the_deployer_may_write_the_capture_bucket_and_only_its_replays(template) -> None:
    writers = {}
    for name, props in functions(template).items():
        for policy in props.get("Policies") or []:
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                if "s3:PutObject" in actions(statement) and any("CaptureBucket" in str(r) for r in resources):
                    writers[name] = resources
    assert writers == {"DeployerFunction": [{"Fn::Sub": "${CaptureBucket.Arn}/replays/*"}]}
