"""Lambda entry point: the control API's FastAPI app behind Mangum (API Gateway HTTP API, v2 events)."""
from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from typing import Any

from lepton_serving.environment import check_at_cold_start
from mangum import Mangum

from control.app import create_app, logger
from control.settings import Settings


class ControlHandler:
    """Mangum over the app. ``env`` None reads the process environment (Lambda's); a mapping
    binds one configuration, as the local stack does for each function it runs."""

    def __init__(self, env: Mapping[str, str] | None = None):
        self.adapter = Mangum(create_app(env), lifespan="off")
        self.app = self.adapter.app

    def with_environment(self, env: Mapping[str, str]) -> ControlHandler:
        return ControlHandler(env)

    def with_lambda_api(self, lambda_api: Any) -> ControlHandler:
        """`lepton replay` calling published versions through ``lambda_api`` (an object with
        Lambda's ``invoke``) instead of Lambda's client: how the local stack runs them."""
        self.app.state.lambda_api = lambda_api
        return self

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        _own_event_loop()
        return self.adapter(event, context)


_thread = threading.local()


def _own_event_loop() -> None:
    """Mangum runs each request on ``asyncio.get_event_loop()``, which raises in a thread whose loop
    was cleared (``asyncio.run`` clears it on return) and is deprecated where none was ever set: the
    calling thread gets a loop of its own, made once and set before every request."""
    loop = getattr(_thread, "loop", None)
    if loop is None or loop.is_closed():
        loop = _thread.loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)


lambda_handler = ControlHandler()
app = lambda_handler.app

# Every request then answers with the reason (500, never a trace).
check_at_cold_start(Settings.from_env, os.environ, logger, "the control API")
