"""What a model function's init imports: only what its first answer needs (docs/coldstart.md).

Each handler module is imported in a fresh interpreter with Lambda's sys.path and a deployed
version's environment. boto3 belongs to the S3 path, the X-Ray SDK to tracing, onnxruntime to
the model load, Pillow to the first image, and Powertools' HTTP resolver to no path at all.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventfiles import ROOT
from test_import_graph import MODEL_FUNCTIONS

#: Imported by nothing a model function's init runs. (`botocore` itself is allowed: Powertools'
#: package imports its top module, 0.4 ms, to register a user-agent hook; none of its submodules.)
NOT_AT_INIT = ("boto3", "botocore.session", "botocore.client", "aws_xray_sdk", "onnxruntime", "PIL",
               "aws_lambda_powertools.event_handler", "asyncio", "snapshot_restore_py")


@pytest.mark.parametrize("folder", sorted(MODEL_FUNCTIONS))
def test_a_model_functions_init_imports_no_aws_sdk_tracer_runtime_or_imaging_library(folder):
    function = MODEL_FUNCTIONS[folder]
    code = ("import json, sys, importlib; "
            f"sys.path[:0] = [{str(ROOT / folder)!r}, {str(ROOT / 'layers' / 'serving')!r}]; "
            f"importlib.import_module('{function}.handler'); "
            f"print(json.dumps(sorted(m for m in {list(NOT_AT_INIT)!r} if m in sys.modules)))")
    env = {"LEPTON_MODEL_NAME": function, "LEPTON_MODEL_BUCKET": "models", "PATH": "/usr/bin:/bin",
           "LEPTON_MODEL_KEY": f"models/{function}/1/model.onnx", "LEPTON_MODEL_SHA256": "0" * 64,
           "AWS_LAMBDA_FUNCTION_NAME": function, "POWERTOOLS_TRACE_DISABLED": "true"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize(("trace_disabled", "tracer_loaded"), [("true", False), ("false", True)])
def test_the_x_ray_sdk_is_imported_exactly_when_the_functions_environment_turns_tracing_on(trace_disabled,
                                                                                           tracer_loaded):
    """What the template's `Tracing` parameter sets (POWERTOOLS_TRACE_DISABLED), read from the
    handler's own environment."""
    code = ("import json, sys, importlib; "
            f"sys.path[:0] = [{str(ROOT / 'functions' / 'tabular')!r}, {str(ROOT / 'layers' / 'serving')!r}]; "
            "importlib.import_module('tabular.handler'); "
            "print(json.dumps('aws_xray_sdk' in sys.modules))")
    env = {"LEPTON_MODEL_NAME": "tabular", "LEPTON_MODEL_BUCKET": "models", "PATH": "/usr/bin:/bin",
           "LEPTON_MODEL_KEY": "models/tabular/1/model.onnx", "LEPTON_MODEL_SHA256": "0" * 64,
           "AWS_LAMBDA_FUNCTION_NAME": "tabular", "POWERTOOLS_TRACE_DISABLED": trace_disabled}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) is tracer_loaded
