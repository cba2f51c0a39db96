"""Run the template's functions in this process the way Lambda runs them.

Each function's CodeUri and its layers' folders go on sys.path (Lambda's /var/task and
/opt/python), its handler is imported once, and every call gets a v2 event and a context.
Each configuration (a published version's environment) gets its own handler instance through
the handler's ``with_environment``, so each version keeps its own warm model, as separate
Lambda versions do, and no call ever writes the process environment: requests run on threads.
A published version's layers are mounted first (``mounts``, layer_mounts.py), as Lambda mounts /opt.

Given the local Lambda (``functions``), it also answers Lambda's Invoke API for published
versions by name, where moto cannot run code (``lambda_api``, lambda_api.LocalLambda): for the
deployer's checks and `lepton replay` (handlers' ``with_lambda_api``) and for Invoke calls on the
local AWS (lambda_invoke.py). A model handler's capture records go to ``capture_output`` (the
stack's capture agent), where Lambda would write them to the function's log group.
"""
from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lepton_deploy.functions import LambdaFunctions

from .context import LambdaContext
from .lambda_api import LocalLambda
from .template import FunctionSpec, Template

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionHost:
    def __init__(self, template: Template, base_env: Mapping[str, str] | None = None,
                 physical_names: Mapping[str, str] | None = None, *, functions: LambdaFunctions | None = None,
                 mounts: Callable[[str, str], dict[str, str]] | None = None,
                 capture_output: Callable[[str], Any] | None = None, fresh_processes: bool = True):
        """``functions``: the local Lambda, which holds each published version's configuration
        (None: versions are not run by name, and no handler is given a Lambda API); ``mounts``:
        (function name, published version) -> what its layers add to its environment (where its
        model layer is mounted: layer_mounts.LayerMounts.environment); ``capture_output``: where
        model handlers write their capture records instead of stdout (capture_agent.py);
        ``fresh_processes``: each version called by name runs in an execution environment
        (a process) of its own, its REPORT lines measured there (lambda_api.py)."""
        self.specs = template.functions()
        self.base_env = dict(base_env or {})
        self.physical_names = dict(physical_names or {})
        self.functions = functions
        self.mounts = mounts
        self.capture_output = capture_output
        self.lambda_api = None if functions is None else LocalLambda(self, functions, fresh_processes=fresh_processes)
        self._bases: dict[str, Handler] = {}
        self._configured: dict[tuple[str, object], Handler] = {}
        self._lock = threading.Lock()

    def update(self, template: Template, physical_names: Mapping[str, str]) -> set[str]:
        """Serve what ``template`` declares now; returns the functions whose spec changed, whose
        configured handlers are dropped (the next call configures them again)."""
        specs = template.functions()
        with self._lock:
            changed = {lid for lid in {*self.specs, *specs} if self.specs.get(lid) != specs.get(lid)}
            self.specs = specs
            self.physical_names = dict(physical_names)
            self._configured = {key: h for key, h in self._configured.items() if key[0] not in changed}
            for logical_id in changed - set(specs):
                self._bases.pop(logical_id, None)
        return changed

    def spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self.specs[logical_id]
        except KeyError:
            raise KeyError(f"no function '{logical_id}' in template.yaml; it has {', '.join(self.specs)}") from None

    def function_name(self, logical_id: str) -> str:
        return self.physical_names.get(logical_id, logical_id)

    def logical_id(self, function_name: str) -> str:
        """The template's logical id of a physical function name (a name not mapped is its own id)."""
        by_name = {name: lid for lid, name in self.physical_names.items()}
        logical_id = by_name.get(function_name, function_name)
        self.spec(logical_id)  # a clear KeyError for a function the template does not declare
        return logical_id

    def environment(self, logical_id: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        spec = self.spec(logical_id)
        return {
            **self.base_env,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name(logical_id),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            **(overrides or {}),
        }

    def version_environment(self, logical_id: str, env: Mapping[str, str] | None, version: str | None) -> dict[str, str]:
        """The environment a version runs with: the template's, ``env`` (the version's own
        configuration), and where a published version's layers are mounted."""
        overrides = {**(env or {}), **({"AWS_LAMBDA_FUNCTION_VERSION": version} if version else {})}
        if self.mounts is not None and version and version != "$LATEST":
            overrides.update(self.mounts(self.function_name(logical_id), version))
        return self.environment(logical_id, overrides)

    def base_handler(self, logical_id: str) -> Handler:
        with self._lock:
            if logical_id not in self._bases:
                self._bases[logical_id] = self._import(self.spec(logical_id))
            return self._bases[logical_id]

    def handler(self, logical_id: str, env: Mapping[str, str] | None = None, version: str | None = None) -> Handler:
        """The handler configured with the template's environment plus ``env`` (a version's)."""
        base = self.base_handler(logical_id)
        if not hasattr(base, "with_environment"):
            return base  # configured once, at import, from the process environment
        # A published version's configuration never changes: its number is key enough.
        key = (logical_id, version) if version and version != "$LATEST" else (logical_id, frozenset((env or {}).items()))
        handler = self._configured.get(key)
        if handler is None:
            with self._lock:
                handler = self._configured.get(key)
                if handler is None:
                    handler = base.with_environment(self.version_environment(logical_id, env, version))
                    if self.lambda_api is not None and hasattr(handler, "with_lambda_api"):
                        handler = handler.with_lambda_api(self.lambda_api)
                    if self.capture_output is not None and hasattr(handler, "with_capture_output"):
                        handler = handler.with_capture_output(self.capture_output)
                    self._configured[key] = handler
        return handler

    def invoke(self, logical_id: str, event: dict[str, Any], env: Mapping[str, str] | None = None,
               version: str = "$LATEST") -> Any:
        spec = self.spec(logical_id)
        context = LambdaContext(self.function_name(logical_id), spec.memory_mb, spec.timeout_s, version)
        return self.handler(logical_id, env, version)(event, context)

    def stop(self) -> None:
        """End the versions' execution environments (processes): the stack stops."""
        if self.lambda_api is not None:
            self.lambda_api.close()

    def _import(self, spec: FunctionSpec) -> Handler:
        for folder in [spec.code_uri, *reversed(spec.layers)]:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        module_name, _, attr = spec.handler.rpartition(".")
        module = importlib.import_module(module_name)
        try:
            return getattr(module, attr)
        except AttributeError:
            raise AttributeError(f"{spec.handler}: module {module_name} has no '{attr}'") from None
