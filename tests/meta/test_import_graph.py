"""The import graph has floors and every arrow points down: layers/serving is the ground,
layers/deploy (lepton_drift, then lepton_deploy) stands on it, functions/ and training/ on those, lepton/
above, bench/ on top.
Model functions never import the deployment core."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eventfiles import ROOT
from import_graph import cycles, import_edges, modules_under
from lepton.local.template import Template

#: Every model function in template.yaml (those `lepton add` writes too): folder -> its package.
MODEL_FUNCTIONS = {
    str(spec.code_uri.relative_to(ROOT)): spec.handler.split(".")[0]
    for spec in Template(ROOT / "template.yaml").functions().values() if spec.model_name
}

# What each floor may import from the project's own packages.
FLOORS = {
    "layers/serving/lepton_serving": {"lepton_serving"},
    "layers/deploy/lepton_drift": {"lepton_serving", "lepton_drift"},
    "layers/deploy/lepton_deploy": {"lepton_serving", "lepton_drift", "lepton_deploy"},
    "training/lepton_training": {"lepton_serving", "lepton_deploy", "lepton_drift", "lepton_training"},
    "lepton": {"lepton_serving", "lepton_deploy", "lepton_drift", "lepton_training", "lepton", "deployer", "control"},
    "functions/deployer": {"lepton_serving", "lepton_deploy", "lepton_drift", "deployer"},
    "functions/drift": {"lepton_serving", "lepton_deploy", "lepton_drift", "drift"},
    "functions/control": {"lepton_serving", "lepton_deploy", "control"},
    # A model function stands on the request path alone: never the deployment core.
    **{folder: {"lepton_serving", package} for folder, package in MODEL_FUNCTIONS.items()},
}
#: Where each package is found (the sys.path entry Lambda or the venv gives it) -> its packages.
PATH_ENTRIES = {
    ROOT / "layers" / "serving": ["lepton_serving"],
    ROOT / "layers" / "deploy": ["lepton_deploy", "lepton_drift"],
    ROOT / "training": ["lepton_training"],
    ROOT: ["lepton", "bench"],
    **{ROOT / folder: [package] for folder, package in MODEL_FUNCTIONS.items()},
    ROOT / "functions" / "deployer": ["deployer"],
    ROOT / "functions" / "control": ["control"],
    ROOT / "functions" / "drift": ["drift"],
}
MODULES = {name: path for entry, packages in PATH_ENTRIES.items() for package in packages
           for name, path in modules_under(entry, package).items()}
EDGES = import_edges(MODULES)


def imported_packages(folder: Path) -> dict[str, set[str]]:
    """Top-level project package -> the files under ``folder`` that import from it."""
    found: dict[str, set[str]] = {}
    for module, targets in EDGES.items():
        path = MODULES[module]
        if path.is_relative_to(folder):
            for target in targets:
                found.setdefault(target.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_each_floor_imports_only_its_own_floor_and_those_below(floor):
    allowed = FLOORS[floor]
    above = {pkg: files for pkg, files in imported_packages(ROOT / floor).items() if pkg not in allowed}
    assert above == {}, f"{floor} imports from above it: {above}"


def test_no_module_imports_itself_round_a_loop():
    assert cycles(EDGES) == []


def test_the_graph_reads_every_kind_of_import_and_finds_a_planted_cycle(tmp_path):
    # GIVEN a package whose modules import each other only through a relative import, an import
    # inside a function and a type-only import, and one honest module beside them
    package = tmp_path / "planted"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .inner import b\n")
    (package / "inner" / "b.py").write_text("def later():\n    from ..c import thing\n    return thing\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import planted.a\nthing = 1\n")
    (package / "d.py").write_text("from planted import c\nfrom . import a\n")
    # WHEN the graph is read as the project's is
    edges = import_edges(modules_under(tmp_path, "planted"))
    # THEN every kind of import is an edge, and the loop is found (d, which only imports, is not in it)
    assert edges["planted.a"] == {"planted.inner.b"}
    assert edges["planted.inner.b"] == {"planted.c"}
    assert edges["planted.c"] == {"planted.a"}
    assert edges["planted.d"] == {"planted.a", "planted.c"}
    assert cycles(edges) == [["planted.a", "planted.c", "planted.inner.b"]]
    # AND breaking one arrow clears it
    (package / "c.py").write_text("thing = 1\n")
    assert cycles(import_edges(modules_under(tmp_path, "planted"))) == []


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
