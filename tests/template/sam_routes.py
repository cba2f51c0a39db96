"""Run by the SAM CLI's own Python (.venv-sam): template.yaml with parameter values, through the
AWS::LanguageExtensions expansion and the SAM translator, as `sam deploy` would have them run.

Prints JSON: {"routes": {"GET /v2": ["AWS_IAM"] or [], ...}, "authorizers": {name: {...}}, "stage":
{...}, "reserved": {function: ReservedConcurrentExecutions}, "resources": {logical id: type}}: what
CloudFormation would be given.
Usage: python sam_routes.py TEMPLATE '{"InferenceAuth": "IAM"}'
"""
import json
import sys
from pathlib import Path

from samcli.lib.cfn_language_extensions.api import process_template
from samcli.yamlhelper import yaml_parse
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator


def main(path: str, parameters: str) -> None:
    values = json.loads(parameters)
    template = yaml_parse(Path(path).read_text())
    expanded = process_template(template, parameter_values=values)
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():  # what `sam package` does to local folders
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://packaged/code.zip"
    translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(
        expanded, parameter_values=values)
    resources = translated["Resources"]
    routes, authorizers, stage, reserved = {}, {}, {}, {}
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGatewayV2::Api":
            body = resource["Properties"]["Body"]
            for path_, operations in body["paths"].items():
                for method, operation in operations.items():
                    security = [name for entry in operation.get("security", []) for name in entry]
                    routes[f"{method.upper()} {path_}"] = security
            authorizers = body.get("components", {}).get("securitySchemes", {})
        if resource["Type"] == "AWS::ApiGatewayV2::Stage":
            stage = resource["Properties"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            reserved[logical_id] = resource["Properties"].get("ReservedConcurrentExecutions")
    print(json.dumps({"routes": routes, "authorizers": authorizers, "stage": stage, "reserved": reserved,
                      "resources": {k: v["Type"] for k, v in resources.items()}}, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
