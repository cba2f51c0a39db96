"""Lambda entry point: the control API's FastAPI app behind Mangum (API Gateway HTTP API, v2 events)."""
from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mangum import Mangum

from control.app import create_app, logger
from control.settings import ConfigError, Settings


class ControlHandler(Mangum):
    """Mangum over the control app, callable from any thread, with or without a running loop.

    The configuration is read from the process environment per request (validated once per
    distinct value), which is also what rollout and registry read: one source, as in Lambda.
    """

    def __init__(self, settings: Settings | None = None):
        super().__init__(create_app(settings), lifespan="off")

    def _setup_event_loop(self) -> None:
        """Mangum's own set-up asks for a loop in the importing thread (deprecated when there is
        none); `_run` gives each calling thread its own loop instead."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # Lambda, tests: no loop is running in this thread
            return self._run(event, context)
        # Called from inside a running loop (the local API server's): Mangum drives a loop of
        # its own with run_until_complete, which needs a thread where none is running.
        return _off_loop().submit(self._run, event, context).result()

    def _run(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not hasattr(_thread_loop, "loop"):
            _thread_loop.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(_thread_loop.loop)
        return super().__call__(event, context)


_thread_loop = threading.local()
_pool: list[ThreadPoolExecutor] = []


def _off_loop() -> ThreadPoolExecutor:
    if not _pool:
        _pool.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="control"))
    return _pool[0]


lambda_handler = ControlHandler()
app = lambda_handler.app

# In Lambda, check the configuration in the init phase: a mistake is logged once, at start-up,
# and every request then answers with the reason (never a trace).
if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    try:
        Settings.from_env()
    except ConfigError as exc:
        logger.error("control API misconfigured; every request fails until fixed", extra={"reason": exc.message})
