"""The EMF forwarder (emf.py) in a process of its own, as CloudWatch's log agent runs outside a
Lambda function.

`lepton up` hands the agent its functions' metric lines through a pipe: once a second, in one
write, from a thread that blocks while no line comes (each wake-up under load takes the GIL from
the requests, so it wakes as seldom as the metrics allow). So the serving process spends well under a
microsecond per request on metrics, instead of the parsing and summing, which run in the agent:

    python -m lepton.local.emf_agent ENDPOINT    (lines on stdin; ends at end of input)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from .agent_pipe import AgentPipe
from .emf import EMF_MARKER, FLUSH_SECONDS, EmfForwarder, EmfTee
from .function_log import FunctionLog
from .local_aws import LOCAL_CREDENTIALS, REGION, LocalAws


class EmfAgent:
    """Feeds EMF lines to ``python -m lepton.local.emf_agent``, which puts them into CloudWatch."""

    def __init__(self, endpoint: str, flush_seconds: float = FLUSH_SECONDS):
        self.endpoint = endpoint
        self.pipe = AgentPipe(self._spawn, "emf agent", flush_seconds)

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "lepton.local.emf_agent", self.endpoint],
                                stdin=subprocess.PIPE, env={**os.environ, **LOCAL_CREDENTIALS})

    def start(self) -> None:
        self.pipe.start()

    def feed(self, line: str) -> None:
        if line.startswith(EMF_MARKER):
            self.pipe.put(line)

    def stop(self) -> None:
        """Hand over what is left, then let the agent put it and end."""
        self.pipe.stop()


def forward_function_metrics(aws: LocalAws) -> EmfAgent | EmfForwarder:
    """Do what Lambda and CloudWatch do with the functions' EMF lines: put them into the local
    CloudWatch, where the canary check reads them. Under `lepton up` (stdout is the functions'
    log) the agent parses them in a process of its own; elsewhere they are teed off stdout here."""
    if isinstance(sys.stdout, FunctionLog):
        agent = EmfAgent(aws.endpoint)
        agent.start()
        sys.stdout.forward_to(agent.feed)
        return agent
    forwarder = EmfForwarder(aws.client("cloudwatch"))
    forwarder.start()
    sys.stdout = EmfTee(sys.stdout, forwarder)
    return forwarder


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
