"""Lambda entry point: the control API's FastAPI app behind Mangum (API Gateway HTTP API, v2 events)."""
from __future__ import annotations

import os

from mangum import Mangum

from control.app import create_app, logger
from control.settings import ConfigError, Settings

lambda_handler = Mangum(create_app(), lifespan="off")
app = lambda_handler.app

# In Lambda, check the configuration in the init phase: a mistake is logged once, at start-up,
# and every request then answers with the reason (never a trace).
if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    try:
        Settings.from_env()
    except ConfigError as exc:
        logger.error("control API misconfigured; every request fails until fixed", extra={"reason": exc.message})
