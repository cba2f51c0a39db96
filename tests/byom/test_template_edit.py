"""`lepton add`'s template edit gives a new model function what the others have: its log
group, its own table items, the InferenceAuth default authorizer, reserved concurrency through
Globals, checkov's suppressions, its versions in the deployer's pre-traffic statement; and
`lepton remove` takes exactly that out again."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from eventfiles import ROOT
from lepton.byom.template_edit import ModelFunction, TemplateFile
from lepton.local.template import Template

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)
                                                                  if isinstance(node, yaml.ScalarNode) else None})


@pytest.fixture
def edited(project):
    """The project's template with churn added, and its text before."""
    before = (project / "template.yaml").read_text()
    template = TemplateFile(project / "template.yaml")
    template.add_model(ModelFunction("churn", "ChurnFunction", "churn", "ChurnMemory"), "Churn, 5 features")
    template.save()
    return project, before


def test_an_added_function_gets_its_log_group_own_items_and_the_others_suppressions(edited):
    project, _ = edited
    resources = yaml.load((project / "template.yaml").read_text(), Loader=_Loader)["Resources"]  # noqa: S506
    churn, tabular = resources["ChurnFunction"], resources["TabularFunction"]
    assert resources["ChurnFunctionLogs"]["Properties"] == {"LogGroupName": {"Sub": "/aws/lambda/${ChurnFunction}"},
                                                            "RetentionInDays": {"Ref": "LogRetentionDays"}}
    assert resources["ChurnFunctionLogs"]["Metadata"] == resources["TabularFunctionLogs"]["Metadata"]
    assert churn["Metadata"] == tabular["Metadata"]
    statements = churn["Properties"]["Policies"][0]["Statement"]
    assert statements[1]["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["model#churn"]}}
    assert "ReservedConcurrentExecutions" not in churn["Properties"]  # Globals give it, as to every model function
    deployer = {s["Sid"]: s for s in resources["DeployerFunction"]["Properties"]["Policies"][0]["Statement"]}
    assert deployer["PreTrafficCalls"]["Resource"][-1] == {"Sub": "${ChurnFunction.Arn}:*"}
    assert {"GetAtt": "ChurnFunction.Arn"} in deployer["MoveModelFunctions"]["Resource"]


def test_an_added_function_runs_on_layers_the_deployer_may_keep_and_its_model_layer_needs_no_edit(edited):
    project, before = edited
    resources = yaml.load((project / "template.yaml").read_text(), Loader=_Loader)["Resources"]  # noqa: S506
    deployer = {s["Sid"]: s for s in resources["DeployerFunction"]["Properties"]["Policies"][0]["Statement"]}
    churn_layers = resources["ChurnFunction"]["Properties"]["Layers"]
    # UpdateFunctionConfiguration keeps these when it adds churn's model layer: the deployer may read them
    assert churn_layers and all(layer in deployer["KeepSharedLayers"]["Resource"] for layer in churn_layers)
    # churn's model layer (<LEPTON_MODEL_LAYER_PREFIX>-churn) falls under the prefix statement as it was
    old = {s["Sid"]: s for s in yaml.load(before, Loader=_Loader)["Resources"]["DeployerFunction"]  # noqa: S506
           ["Properties"]["Policies"][0]["Statement"]}
    assert deployer["ModelLayers"] == old["ModelLayers"]


@pytest.mark.parametrize(("mode", "auth"), [("NONE", "NONE"), ("IAM", "AWS_IAM"), ("JWT", "JwtAuthorizer")])
def test_every_route_of_an_added_function_takes_inference_auth(edited, mode, auth):
    project, _ = edited
    template = Template(project / "template.yaml", parameters={"InferenceAuth": mode})
    routes = [r for r in template.routes() if r.function == "ChurnFunction"]
    assert len(routes) == 7 and {r.auth for r in routes} == {auth}


@pytest.mark.skipif(not CHECKOV.exists(), reason="no .venv-checkov (make checkov)")
def test_checkov_finds_nothing_new_in_a_template_with_an_added_function(edited):
    project, _ = edited
    done = subprocess.run([str(CHECKOV), "-f", str(project / "template.yaml"), "--framework", "cloudformation",
                           "--skip-download", "--compact", "--quiet"], capture_output=True, text=True, timeout=300)
    assert "Failed checks: 0" in done.stdout, done.stdout[-3000:]


def test_remove_gives_the_template_back_byte_for_byte(edited):
    project, before = edited
    template = TemplateFile(project / "template.yaml")
    template.remove_model("ChurnFunction", "churn", "ChurnMemory")
    template.save()
    assert (project / "template.yaml").read_text() == before
