"""The import graph has floors and every arrow points down: layers/serving is the ground,
layers/deploy stands on it, functions/ and training/ on those, lepton/ above, bench/ on top.
Model functions never import the deployment core."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from eventfiles import ROOT
from lepton.local.template import Template

#: Every model function in template.yaml (those `lepton add` writes too): folder -> its package.
MODEL_FUNCTIONS = {
    str(spec.code_uri.relative_to(ROOT)): spec.handler.split(".")[0]
    for spec in Template(ROOT / "template.yaml").functions().values() if spec.model_name
}

# What each floor may import from the project's own packages.
FLOORS = {
    "layers/serving/lepton_serving": {"lepton_serving"},
    "layers/deploy/lepton_deploy": {"lepton_serving", "lepton_deploy"},
    "training/lepton_training": {"lepton_serving", "lepton_deploy", "lepton_training"},
    "lepton": {"lepton_serving", "lepton_deploy", "lepton_training", "lepton", "deployer", "control"},
    "functions/deployer": {"lepton_serving", "lepton_deploy", "deployer"},
    "functions/control": {"lepton_serving", "lepton_deploy", "control"},
    # A model function stands on the request path alone: never the deployment core.
    **{folder: {"lepton_serving", package} for folder, package in MODEL_FUNCTIONS.items()},
}
PROJECT = {"lepton_serving", "lepton_deploy", "lepton_training", "lepton", "bench", "deployer", "control",
           *MODEL_FUNCTIONS.values()}


def imported_packages(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in PROJECT:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_each_floor_imports_only_its_own_floor_and_those_below(floor):
    allowed = FLOORS[floor]
    above = {pkg: files for pkg, files in imported_packages(ROOT / floor).items() if pkg not in allowed}
    assert above == {}, f"{floor} imports from above it: {above}"


def test_the_template_has_model_functions():
    assert MODEL_FUNCTIONS, "no function with LEPTON_MODEL_NAME in template.yaml"


@pytest.mark.parametrize("folder", sorted(MODEL_FUNCTIONS))
def test_a_model_function_runs_with_the_serving_layer_alone(folder):
    function = MODEL_FUNCTIONS[folder]
    # Lambda's sys.path for a model function: its code, the serving layer, the runtime's packages
    # (the venv stands in for those and for the onnxruntime layer). No deployment core anywhere.
    code = ("import sys, importlib; "
            f"sys.path[:0] = [{str(ROOT / folder)!r}, {str(ROOT / 'layers' / 'serving')!r}]; "
            f"importlib.import_module('{function}.handler'); "
            "print(sorted(m for m in sys.modules if m.startswith(('lepton_deploy', 'lepton_training', 'lepton.'))))")
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", result.stdout
