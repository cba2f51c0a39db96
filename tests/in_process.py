"""Published function versions run in this process, where Lambda cannot run code (moto): what
the deployer's pre-traffic check invokes in tests that drive the deployer without a local stack."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from eventfiles import ROOT
from lepton.functions import FunctionHost
from lepton.invoke import InProcessInvoker
from lepton.template import Template
from lepton_deploy.functions import LambdaFunctions


def in_process_invoker(lam: Any, names: dict[str, str], functions: dict[str, str], cache: Path) -> InProcessInvoker:
    """``functions``: template logical id -> the physical function name moto holds."""
    template = Template(ROOT / "template.yaml", names=names)
    host = FunctionHost(template, base_env={"LEPTON_CACHE_DIR": str(cache)}, physical_names=functions)
    return InProcessInvoker(host, LambdaFunctions(lam))
