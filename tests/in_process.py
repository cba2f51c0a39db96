"""Published function versions run in this process, where Lambda cannot run code (moto): what
answers the deployer's (and `lepton replay`'s) calls in tests that drive them without a local
stack, through the local stack's own stand-in for Lambda's Invoke API. Each version's model
layer is mounted as the local stack mounts it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from eventfiles import ROOT
from lepton.local.function_host import FunctionHost
from lepton.local.lambda_api import LocalLambda
from lepton.local.layer_mounts import LayerMounts
from lepton.local.template import Template
from lepton_deploy.functions import LambdaFunctions


def local_lambda(lam: Any, names: dict[str, str], functions: dict[str, str], cache: Path, s3: Any,
                 fresh_processes: bool = False) -> LocalLambda:
    """``functions``: template logical id -> the physical function name moto holds.
    ``fresh_processes``: measure each version's cold start in a process of its own, as the local
    stack does; off by default here, where most tests deploy many versions and look at none of
    their cold starts (the receipt's tests turn it on)."""
    template = Template(ROOT / "template.yaml", names=names)
    versions = LambdaFunctions(lam)
    host = FunctionHost(template, base_env={"LEPTON_CACHE_DIR": str(cache)}, physical_names=functions,
                        functions=versions, mounts=LayerMounts(versions, s3, cache.parent / "layers").environment,
                        fresh_processes=fresh_processes)
    assert host.lambda_api is not None
    return host.lambda_api
