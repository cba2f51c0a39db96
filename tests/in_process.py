"""Published function versions run in this process, where Lambda cannot run code (moto): what
the deployer's pre-traffic check invokes in tests that drive the deployer without a local stack.
Each version's model layer is mounted as the local stack mounts it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from eventfiles import ROOT
from lepton.local.function_host import FunctionHost
from lepton.local.invoke import InProcessInvoker
from lepton.local.layer_mounts import LayerMounts
from lepton.local.template import Template
from lepton_deploy.functions import LambdaFunctions


def in_process_invoker(lam: Any, names: dict[str, str], functions: dict[str, str], cache: Path,
                       s3: Any) -> InProcessInvoker:
    """``functions``: template logical id -> the physical function name moto holds."""
    template = Template(ROOT / "template.yaml", names=names)
    host = FunctionHost(template, base_env={"LEPTON_CACHE_DIR": str(cache)}, physical_names=functions)
    host.mounts = LayerMounts(LambdaFunctions(lam), s3, cache.parent / "layers").environment
    return InProcessInvoker(host, LambdaFunctions(lam))
