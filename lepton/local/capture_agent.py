"""The capture path of the local stack in a process of its own, as CloudWatch Logs and Firehose
run outside a Lambda function.

The stack's model handlers hand each capture record to `CaptureAgent.feed` (function_host.py
gives them the writer) instead of stdout. Once a second, in one write through a pipe, the agent
passes them to ``python -m lepton.local.capture_agent``. That process runs moto's own CloudWatch
Logs and Firehose (an in-process moto of its own), with each model function's log group,
delivery stream and subscription filter made from template.yaml (capture_setup.py): it puts
the records into the function's log group (log_delivery.py), moto's subscription filter hands
them to the stream, and the stream writes its object (gzip'ed CloudWatch Logs envelopes, as in
AWS) under captures/<model>/YYYY/MM/DD/HH/. Each object is then put, under the same key, into
the stack's own capture bucket, where the deployer and `lepton replay` read it. That last copy
is the one step emulated here; it keeps moto's JSON and gzip work (tens of microseconds a
record) off the process that serves requests. The agent runs at a lower priority (nice 10): on
a busy machine delivery falls behind rather than taking CPU from requests, as Firehose's own
buffering delays it in AWS; past ``MAX_PENDING`` records waiting, the oldest are dropped and
counted, as a log agent under back-pressure does.

    python -m lepton.local.capture_agent ENDPOINT PROJECT_ROOT PREFIX   (records on stdin; a
    blank line ends each round; ends at end of input)
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from lepton_serving.capture import MARKER

from .agent_pipe import AgentPipe
from .local_aws import LOCAL_CREDENTIALS, REGION

log = logging.getLogger("lepton.logs")

FLUSH_SECONDS = 1.0
ACCOUNT = "123456789012"  # moto's default account
MAX_PENDING = 100_000
NICENESS = 10


class CaptureAgent:
    """Feeds capture records to ``python -m lepton.local.capture_agent``, which delivers them."""

    def __init__(self, endpoint: str, root: Path, prefix: str, flush_seconds: float = FLUSH_SECONDS):
        self.endpoint = endpoint
        self.root = root
        self.prefix = prefix
        # the oldest go first when the agent falls far behind; a blank line ends each round
        self.pipe = AgentPipe(self._spawn, "capture agent", flush_seconds, max_pending=MAX_PENDING, round_end="\n",
                              stop_seconds=20.0)

    def start(self) -> None:
        """Start gathering; the agent's process starts with the first record (a stack that serves
        no inference never pays for it)."""
        self.pipe.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Its own moto serves its Logs and Firehose: no endpoint in its environment points elsewhere.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        return subprocess.Popen(
            [sys.executable, "-m", "lepton.local.capture_agent", self.endpoint, str(self.root), self.prefix],
            stdin=subprocess.PIPE, env={**env, **LOCAL_CREDENTIALS})

    def feed(self, line: str) -> None:
        """A model handler's capture record (one line)."""
        if line.startswith(MARKER):
            self.pipe.put(line.rstrip("\n"))

    def stop(self) -> None:
        """Hand over what is left, then let the agent deliver it and end."""
        self.pipe.stop()


class Delivery:
    """In the agent's process: moto's Logs and Firehose (its own), and the stack's capture bucket."""

    def __init__(self, endpoint: str, root: Path, prefix: str):
        import boto3

        from botocore.config import Config

        from .capture_setup import capture_bucket_name
        from .log_delivery import LogDelivery

        self.root, self.prefix = root, prefix
        self.local = {s: boto3.client(s, region_name=REGION) for s in ("s3", "iam", "firehose")}
        # The records are ours, built by the handlers: botocore's checks of 1,000 events cost more than the call.
        self.local["logs"] = boto3.client("logs", region_name=REGION, config=Config(parameter_validation=False))
        self.stack_s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint,
                                     aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        self.bucket = capture_bucket_name(prefix)
        self.logs = LogDelivery(self.local["logs"])
        self.wired: set[str] = set()

    def deliver(self, lines: list[str]) -> int:
        """Put the round's records into their log groups; copy what the streams wrote to the stack."""
        self._wire({_function(line) for line in lines} - self.wired)
        for line in lines:
            self.logs.feed(line)
        self.logs.flush()
        return self._forward()

    def _wire(self, functions: set[str]) -> None:
        """Each model function's log group, stream and filter, from template.yaml as it is now."""
        if not functions:
            return
        from .capture_setup import provision_captures
        from .template import Template

        template = Template(self.root / "template.yaml")
        ids = {f"{self.prefix}-{lid}": lid for lid, spec in template.functions().items() if spec.model_name}
        provision_captures(lambda s: self.local[s], template, {ids[f]: f for f in functions if f in ids},
                           self.prefix, ACCOUNT, REGION)
        self.wired |= functions

    def _forward(self) -> int:
        moved = 0
        listed = self.local["s3"].list_objects_v2(Bucket=self.bucket).get("Contents") or []
        for item in listed:
            body = self.local["s3"].get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
            try:
                self.stack_s3.put_object(Bucket=self.bucket, Key=item["Key"], Body=body)
                moved += 1
            except Exception as exc:  # noqa: BLE001 - the stack is stopping: best effort, as logs are
                log.debug("capture object %s not copied: %s", item["Key"], exc)
            self.local["s3"].delete_object(Bucket=self.bucket, Key=item["Key"])
        return moved


def _function(line: str) -> str:
    marker = '"function":"'
    at = line.find(marker)
    start = at + len(marker)
    return line[start:line.find('"', start)] if at >= 0 else ""


def main(argv: list[str] | None = None) -> int:
    from moto import mock_aws

    # Ctrl-C reaches the whole process group: `lepton up` stops the agent itself, after the last records.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    endpoint, root, prefix = (argv or sys.argv[1:])[:3]
    with mock_aws():
        delivery = Delivery(endpoint, Path(root), prefix)
        batch: list[str] = []
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line:
                batch.append(line)
                continue
            if batch:
                try:
                    delivery.deliver(batch)
                except Exception as exc:  # noqa: BLE001 - one bad round must not end the agent
                    log.warning("capture round of %d record(s) not delivered: %s", len(batch), exc)
                batch = []
        if batch:
            delivery.deliver(batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
