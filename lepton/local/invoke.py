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

    # -- as the local AWS's Invoke API runs it (lambda_invoke.py) -------------------------------
    def hosts(self, function_name: str) -> bool:
        return function_name in self.host.physical_names.values()

    def run(self, function_name: str, qualifier: str, event: dict[str, Any]) -> tuple[str, Any]:
        """The version ``qualifier`` names (a number, an alias, or $LATEST) run on ``event``."""
        if qualifier != "$LATEST" and not qualifier.isdigit():
            qualifier = self.functions.alias(function_name, qualifier).version
        return qualifier, self(function_name, qualifier, event)
