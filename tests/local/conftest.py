"""Every test here runs against one real local stack per module."""
from __future__ import annotations

from local_stack import aws_environment, moto_server, stack, stack_models  # noqa: F401 - fixtures
