"""`lepton invoke` runs every events/ file through its function, as `sam local invoke` would."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventfiles import EVENTS, ROOT
from lepton.local.template import Template

# Event files are named for their case; these words mark the ones that must be refused.
REFUSED = ("bad", "unknown", "empty", "wrong", "too-large", "not-an-image")


def cases() -> list[tuple[str, str]]:
    functions = Template(ROOT / "template.yaml").functions()
    by_folder = {spec.code_uri.name: logical_id for logical_id, spec in functions.items()}
    return [(by_folder[path.parent.name], str(path.relative_to(ROOT)))
            for path in sorted(EVENTS.glob("*/*.json")) if path.parent.name in by_folder]


def test_every_events_folder_belongs_to_a_template_function():
    functions = {spec.code_uri.name for spec in Template(ROOT / "template.yaml").functions().values()}
    assert {p.name for p in EVENTS.iterdir() if p.is_dir()} <= functions


def test_the_lepton_command_prints_only_the_response_on_stdout(stack):
    done = subprocess.run(
        [sys.executable, "-m", "lepton.cli", "invoke", "TabularFunction", "-e", "events/tabular/infer.json",
         "--aws-port", str(stack.settings.aws_port)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["outputs"][0]["shape"] == [2, 2]


@pytest.mark.parametrize(("function", "event"), cases())
def test_lepton_invoke_runs_the_event_with_the_expected_outcome(stack, capsys, function, event):
    # GIVEN a running local stack WHEN `lepton invoke` runs one event (in-process, for speed)
    from lepton.cli import main

    assert main(["invoke", function, "-e", str(ROOT / event), "--aws-port", str(stack.settings.aws_port)]) == 0
    # THEN stdout is the JSON response, and the status fits the case the file is named for
    response = json.loads(capsys.readouterr().out)
    if "statusCode" not in response:  # the deployer answers with results, not HTTP
        assert "error" not in response, response
        return
    status = response["statusCode"]
    name = event.rsplit("/", 1)[-1]
    if any(word in name for word in REFUSED):
        assert 400 <= status < 500, response
    else:
        assert status == 200, response
    assert "Traceback" not in response.get("body", "")
