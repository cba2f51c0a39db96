"""The fuzzer runs against one real local stack (moto server process, the API on loopback)."""
from __future__ import annotations

from local_stack import aws_environment, moto_server, stack, stack_models  # noqa: F401 - fixtures
