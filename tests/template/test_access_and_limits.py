"""template.yaml's limits and access rules: throttling, reserved concurrency, InferenceAuth,
least privilege, log retention and access logs, the deploy queue's timing and the alarm.

The first tests read the template as written (cfn-lint's loader). The last ones run it through
the SAM CLI's own AWS::LanguageExtensions expansion and the SAM translator for each
InferenceAuth value (skipped without the SAM CLI venv, as test_template.py's sam validate)."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from test_template import ROOT, TEMPLATE, find_sam, functions, resources_of, template  # noqa: F401 - fixture

NO_VALUE = {"Ref": "AWS::NoValue"}
ACCOUNT_CONCURRENCY = 1000  # Lambda's default per-Region quota
UNRESERVED_MINIMUM = 100  # what Lambda always keeps unreserved
WAITER_SECONDS = 90  # lepton_deploy.functions.LambdaFunctions.wait_updated's budget


def model_functions(template: dict) -> dict[str, dict]:
    return {n: p for n, p in functions(template).items() if "LEPTON_MODEL_NAME" in p["Environment"]["Variables"]}


def reserved(props: dict) -> object:
    return props.get("ReservedConcurrentExecutions")


# ---------------------------------------------------------------------------- concurrency and throttling
def test_each_model_function_reserves_the_parameter_and_the_deployer_and_control_api_their_own(template):
    assert template["Parameters"]["ModelReservedConcurrency"]["Default"] == 20
    assert template["Conditions"]["ReserveConcurrency"] == {"Fn::Not": [{"Fn::Equals": [
        {"Ref": "ModelReservedConcurrency"}, 0]}]}
    for name, props in model_functions(template).items():
        assert reserved(props) == {"Fn::If": ["ReserveConcurrency", {"Ref": "ModelReservedConcurrency"}, NO_VALUE]}, name
    everything = functions(template)
    assert reserved(everything["DeployerFunction"]) == {"Fn::If": ["ReserveConcurrency", 2, NO_VALUE]}
    assert reserved(everything["ControlFunction"]) == {"Fn::If": ["ReserveConcurrency", 5, NO_VALUE]}
    # the SQS event source never runs more deployers than their reservation lets run
    uploads = everything["DeployerFunction"]["Events"]["Uploads"]["Properties"]
    assert uploads["ScalingConfig"]["MaximumConcurrency"] <= 2


def test_the_default_reservations_leave_lambdas_unreserved_minimum_with_room_for_forty_models(template):
    per_model = template["Parameters"]["ModelReservedConcurrency"]["Default"]
    total = per_model * len(model_functions(template)) + 2 + 5
    assert total == 107
    assert ACCOUNT_CONCURRENCY - total >= UNRESERVED_MINIMUM
    room = (ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM - 2 - 5) // per_model
    assert room == 44  # model functions the default quota holds at 20 each (docs/security.md)


def test_the_http_api_throttles_every_route_with_the_template_parameters(template):
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {"ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
                                           "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"}}
    parameters = template["Parameters"]
    assert (parameters["ThrottlingRateLimit"]["Default"], parameters["ThrottlingBurstLimit"]["Default"]) == (100, 200)


# ---------------------------------------------------------------------------- InferenceAuth
def test_inference_auth_defaults_to_none_and_names_iam_or_the_jwt_authorizer(template):
    parameter = template["Parameters"]["InferenceAuth"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("NONE", ["NONE", "IAM", "JWT"])
    auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == {"Fn::If": ["InferenceOpen", NO_VALUE,
                                                    {"Fn::If": ["InferenceIam", "AWS_IAM", "JwtAuthorizer"]}]}
    jwt = auth["Authorizers"]["Fn::If"][1]["JwtAuthorizer"]["JwtConfiguration"]
    assert jwt == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    # JWT without an issuer or an audience is refused before anything is created
    rule = template["Rules"]["JwtNeedsIssuerAndAudience"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "InferenceAuth"}, "JWT"]}


def test_model_routes_take_the_default_authorizer_and_only_server_docs_and_playground_routes_opt_out(template):
    open_routes = set()
    for name, props in functions(template).items():
        for event in props.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            route = f"{event['Properties']['Method']} {event['Properties']['Path']}"
            auth = event["Properties"].get("Auth")
            if name in model_functions(template):
                assert auth is None, f"{route} would escape InferenceAuth"
            elif auth == {"Fn::If": ["InferenceOpen", NO_VALUE, {"Authorizer": "NONE"}]}:
                open_routes.add(route)
            else:
                assert auth == {"Authorizer": "AWS_IAM"}, route
    assert open_routes == {"GET /v2", "POST /v2/repository/index", "GET /v2/health/live", "GET /v2/health/ready",
                           "GET /openapi.json", "GET /docs",
                           # the playground page and the views it reads (no resource names in them)
                           "GET /", "GET /playground/{file}", "GET /models/{name}/card", "GET /status"}


# ---------------------------------------------------------------------------- least privilege
def test_each_model_function_reads_only_its_own_items_of_the_deployments_table(template):
    for name, props in model_functions(template).items():
        model = props["Environment"]["Variables"]["LEPTON_MODEL_NAME"]
        statements = [s for p in props["Policies"] for s in p["Statement"] if str(s["Action"]).startswith("dynamodb:")]
        assert statements == [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                               "Resource": {"Fn::GetAtt": ["DeploymentsTable", "Arn"]},
                               "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [f"model#{model}"]}}}
                              ], name


def statements_of(template: dict, function: str) -> dict[str, dict]:
    return {s.get("Sid", ""): s for p in functions(template)[function]["Policies"] for s in p.get("Statement", [])}


def test_the_deployer_may_list_the_bucket_and_invoke_only_versions_of_the_model_functions(template):
    deployer = statements_of(template, "DeployerFunction")
    listing = deployer["MissingKeysAreNotFound"]
    assert (listing["Action"], listing["Resource"]) == ("s3:ListBucket", {"Fn::GetAtt": ["ModelBucket", "Arn"]})
    assert "Condition" not in listing  # a GetObject has no s3:prefix: a prefix condition would never match it
    invoke = deployer["PreTrafficCalls"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == [{"Fn::Sub": f"${{{n}.Arn}}:*"} for n in model_functions(template)]
    assert not any("lambda:InvokeFunction" in str(s["Action"]) for sid, s in deployer.items() if sid != "PreTrafficCalls")
    control = statements_of(template, "ControlFunction")["ListModelVersions"]
    assert (control["Action"], "Condition" in control) == ("s3:ListBucket", False)


# ---------------------------------------------------------------------------- the deploy queue and its alarm
def test_the_deployer_takes_one_upload_per_call_with_a_timeout_past_the_waiter_and_six_times_that_hidden(template):
    deployer = functions(template)["DeployerFunction"]
    uploads = deployer["Events"]["Uploads"]["Properties"]
    assert uploads["BatchSize"] == 1
    assert deployer["Timeout"] == 180 and deployer["Timeout"] >= 2 * WAITER_SECONDS
    queue = template["Resources"]["DeployQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * deployer["Timeout"] == 1080


def test_the_dead_letter_alarm_notifies_the_topic_and_an_email_subscribes_only_when_given(template):
    alarm = template["Resources"]["DeployDeadLetterAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


# ---------------------------------------------------------------------------- logs
def test_every_function_has_a_log_group_kept_for_the_retention_parameter(template):
    groups = resources_of(template, "AWS::Logs::LogGroup")
    for name in functions(template):
        group = groups[f"{name}Logs"]["Properties"]
        assert group == {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{name}}}"},
                         "RetentionInDays": {"Ref": "LogRetentionDays"}}, name
    assert groups["HttpApiAccessLogs"]["Properties"] == {"RetentionInDays": {"Ref": "LogRetentionDays"}}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_the_api_access_log_is_one_json_object_with_request_route_status_latency_and_errors(template):
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]}
    # each $context variable becomes a sample value, as API Gateway substitutes them
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", settings["Format"]))
    assert {"requestId", "routeKey", "status", "latencyMs", "integrationError", "integrationStatus"} <= set(line)
    variables = dict(re.findall(r'"(\w+)":"\$context\.([A-Za-z.]+)"', settings["Format"]))
    assert variables["requestId"] == "requestId" and variables["integrationError"] == "integrationErrorMessage"


# ---------------------------------------------------------------------------- what SAM makes of it
def sam_translation(parameters: dict[str, str]) -> dict:
    sam = find_sam()
    python = os.path.join(os.path.dirname(sam), "python")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run([python, str(ROOT / "tests" / "template" / "sam_routes.py"), str(TEMPLATE),
                           json.dumps(parameters)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


# `make test` makes .venv-sam: in CI a missing one fails these tests instead of skipping them.
needs_sam = pytest.mark.skipif(
    not os.environ.get("CI")
    and (find_sam() is None or not os.path.exists(os.path.join(os.path.dirname(find_sam() or ""), "python"))),
    reason="the SAM CLI's venv (.venv-sam) is not here (`make sam-validate` makes it)")
JWT = {"JwtIssuer": "https://issuer.example.com", "JwtAudience": "lepton,other"}


@needs_sam
@pytest.mark.parametrize(("mode", "guard"), [("NONE", []), ("IAM", ["AWS_IAM"]), ("JWT", ["JwtAuthorizer"])])
def test_sam_gives_every_model_route_the_inference_auth_and_leaves_server_routes_open(template, mode, guard):
    out = sam_translation({"InferenceAuth": mode, **JWT})
    routes = out["routes"]
    model_routes = {r for r in routes if r.split()[1].startswith(("/v2/models/", "/models/")) and "{name}" not in r}
    assert len(model_routes) == 7 * len(model_functions(template))
    for route in model_routes:
        assert routes[route] == guard, route
    for route in ("GET /v2", "POST /v2/repository/index", "GET /v2/health/ready", "GET /openapi.json", "GET /docs"):
        assert routes[route] in ([], ["NONE"]), route  # ["NONE"]: SAM's "not the default authorizer"
    for route in ("GET /models", "POST /models/{name}/uploads", "GET /deployments"):
        assert routes[route] == ["AWS_IAM"], route
    if mode == "JWT":
        jwt = out["authorizers"]["JwtAuthorizer"]["x-amazon-apigateway-authorizer"]
        assert jwt["jwtConfiguration"] == {"issuer": "https://issuer.example.com", "audience": ["lepton", "other"]}
    else:
        assert "JwtAuthorizer" not in out["authorizers"]
    assert out["stage"]["DefaultRouteSettings"] == {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}


@needs_sam
def test_sam_reserves_nothing_when_the_parameter_is_zero_and_the_defaults_otherwise():
    reserved_by = sam_translation({"ModelReservedConcurrency": "0"})["reserved"]
    # CloudFormation decides the !If on ReserveConcurrency (false here): AWS::NoValue for every function
    assert all(v is None or v.get("Fn::If", [None])[0] == "ReserveConcurrency" for v in reserved_by.values())
    defaults = sam_translation({})["reserved"]
    assert (defaults["DeployerFunction"], defaults["ControlFunction"]) == (2, 5)
    assert defaults["TabularFunction"] == {"Fn::If": ["ReserveConcurrency", {"Ref": "ModelReservedConcurrency"},
                                                      NO_VALUE]}
