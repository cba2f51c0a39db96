"""The EMF forwarder (emf.py) in a process of its own, as CloudWatch's log agent runs outside a
Lambda function.

`lepton up` hands the agent its functions' metric lines through a pipe: once a second, in one
write, from a thread that blocks while no line comes (each wake-up under load takes the GIL from
the requests, so it wakes as seldom as the metrics allow). So the serving process spends well under a
microsecond per request on metrics, instead of the parsing and summing, which run in the agent:

    python -m lepton.local.emf_agent ENDPOINT    (lines on stdin; ends at end of input)
"""
from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import sys

from .emf import EMF_MARKER, FLUSH_SECONDS, EmfForwarder
from .gathering import Gatherer
from .local_aws import LOCAL_CREDENTIALS, REGION

log = logging.getLogger("lepton.local.emf")


class EmfAgent:
    """Feeds EMF lines to ``python -m lepton.local.emf_agent``, which puts them into CloudWatch."""

    def __init__(self, endpoint: str, flush_seconds: float = FLUSH_SECONDS):
        self.endpoint = endpoint
        self.flush_seconds = flush_seconds
        self.lines: collections.deque[str] = collections.deque()  # appends from any thread, no lock
        self._process: subprocess.Popen[bytes] | None = None
        self._rounds = Gatherer(self._hand_over, flush_seconds, "lepton-emf")

    def start(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "lepton.local.emf_agent", self.endpoint],
                                         stdin=subprocess.PIPE, env={**os.environ, **LOCAL_CREDENTIALS})
        self._rounds.start()

    def feed(self, line: str) -> None:
        if line.startswith(EMF_MARKER):
            self.lines.append(line)
            self._rounds.arrived()

    def stop(self) -> None:
        """Hand over what is left, then let the agent put it and end."""
        self._rounds.stop()
        self._hand_over()
        if self._process is not None:
            try:
                self._process.stdin.close()  # type: ignore[union-attr]
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()

    def _hand_over(self) -> None:
        batch = []
        while self.lines:
            batch.append(self.lines.popleft())
        if not batch or self._process is None or self._process.stdin is None:
            return
        try:
            self._process.stdin.write(("\n".join(batch) + "\n").encode())
            self._process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:  # the agent is gone: metrics are best effort
            log.warning("EMF agent gone (%s); %d metric line(s) not forwarded", exc, len(batch))
            self._process = None


def main(argv: list[str] | None = None) -> int:
    import boto3

    # Ctrl-C reaches the whole process group: `lepton up` stops the agent itself, after the last lines.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    endpoint = (argv or sys.argv[1:])[0]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=endpoint,
                              aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    forwarder = EmfForwarder(cloudwatch, flush_seconds=0.2)  # lines already come a second at a time
    forwarder.start()
    for raw in sys.stdin.buffer:
        forwarder.feed(raw.decode("utf-8", "replace").rstrip("\n"))
    forwarder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
