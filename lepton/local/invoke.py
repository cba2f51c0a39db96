"""Invoke a published function version in this process: what Lambda's Invoke API does for the
deployer's pre-traffic check, where Lambda cannot run code (moto, the local stack).

The version's configuration comes from Lambda (moto) by qualifier, exactly as the version was
published; the handler runs in-process through the same FunctionHost that serves the API.
"""
from __future__ import annotations

from typing import Any

from lepton_deploy.functions import LambdaFunctions

from .function_host import FunctionHost


class InProcessInvoker:
    def __init__(self, host: FunctionHost, functions: LambdaFunctions):
        self.host = host
        self.functions = functions

    def __call__(self, function_name: str, qualifier: str, event: dict[str, Any]) -> dict[str, Any]:
        logical_id = self.host.logical_id(function_name)
        environment = self.functions.config(function_name, qualifier).environment
        return self.host.invoke(logical_id, event, env=environment, version=qualifier)
