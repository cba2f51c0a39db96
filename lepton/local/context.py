"""A Lambda context object for in-process invocations, with an injectable clock."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 128
    timeout_s: float = 3.0
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    clock: Callable[[], float] = time.monotonic
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.timeout_s

    # Names are built on demand: most invocations never read them, and this is the per-request path.
    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self.clock()) * 1000))
