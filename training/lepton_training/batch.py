"""Run training as AWS Batch (Fargate) jobs: one job per family, optionally waiting for them.

The job definition (training/template.yaml) runs the training image, whose entry point is
``python -m lepton_training train --publish``; each job overrides the command with its family
and the bucket, so the container trains, exports and publishes by itself.

    python -m lepton_training.batch all --job-queue <arn> --job-definition <arn> --bucket <b> --wait
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Mapping

from . import FAMILY_NAMES

log = logging.getLogger("lepton_training")
TERMINAL = {"SUCCEEDED", "FAILED"}


class BatchJobError(RuntimeError):
    """A training job failed or did not finish in time."""


def batch_client(endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("batch", endpoint_url=endpoint_url) if endpoint_url else boto3.client("batch")


def job_request(
    family: str,
    *,
    job_queue: str,
    job_definition: str,
    bucket: str,
    train_args: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    job_name: str | None = None,
) -> dict[str, Any]:
    """submit_job arguments for one family. ``train_args`` are extra `lepton train` flags."""
    if family not in FAMILY_NAMES:
        raise ValueError(f"unknown family '{family}'")
    env = {"LEPTON_MODEL_BUCKET": bucket, "LEPTON_FAMILY": family, **(environment or {})}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return {
        "jobName": job_name or f"lepton-train-{family}-{stamp}",
        "jobQueue": job_queue,
        "jobDefinition": job_definition,
        "containerOverrides": {
            # Appended to the image's ENTRYPOINT: python -m lepton_training train --publish
            "command": [family, "--bucket", bucket, *train_args],
            "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        },
        "tags": {"lepton:family": family},
    }


def submit_training_jobs(
    families: Iterable[str],
    *,
    job_queue: str,
    job_definition: str,
    bucket: str,
    batch: Any = None,
    endpoint_url: str | None = None,
    train_args: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Submit one job per family; return {family: jobId}."""
    client = batch if batch is not None else batch_client(endpoint_url)
    jobs: dict[str, str] = {}
    for family in families:
        response = client.submit_job(**job_request(
            family, job_queue=job_queue, job_definition=job_definition, bucket=bucket,
            train_args=train_args, environment=environment,
        ))
        jobs[family] = response["jobId"]
        log.info("submitted %s training as Batch job %s", family, response["jobId"])
    return jobs


def wait_for_jobs(job_ids: Iterable[str], batch: Any, poll_seconds: float = 15.0,
                  timeout_seconds: float = 2 * 3600) -> dict[str, dict[str, Any]]:
    """Poll describe_jobs until every job ends; raise BatchJobError if any failed."""
    pending = list(job_ids)
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_seconds
    while pending:
        for i in range(0, len(pending), 100):  # describe_jobs takes at most 100 ids
            for job in batch.describe_jobs(jobs=pending[i : i + 100])["jobs"]:
                if job["status"] in TERMINAL:
                    done[job["jobId"]] = job
        pending = [j for j in pending if j not in done]
        if not pending:
            break
        if time.monotonic() > deadline:
            raise BatchJobError(f"jobs {pending} still running after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)
    failed = {j: d.get("statusReason", "") for j, d in done.items() if d["status"] != "SUCCEEDED"}
    if failed:
        raise BatchJobError(f"training jobs failed: {failed}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lepton_training.batch", description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=[*FAMILY_NAMES, "all"])
    parser.add_argument("--job-queue", required=True, help="nested stack output JobQueueArn")
    parser.add_argument("--job-definition", required=True, help="nested stack output JobDefinitionArn")
    parser.add_argument("--bucket", required=True, help="model bucket the jobs publish to")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--wait", action="store_true", help="wait until every job has finished")
    parser.add_argument("--poll-seconds", type=float, default=15.0)
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="extra `lepton train` flags after --")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    families = list(FAMILY_NAMES) if args.family == "all" else [args.family]
    extra = [a for a in args.train_args if a != "--"]
    client = batch_client(args.endpoint_url)
    jobs = submit_training_jobs(families, job_queue=args.job_queue, job_definition=args.job_definition,
                                bucket=args.bucket, batch=client, train_args=extra)
    for family, job_id in jobs.items():
        print(f"{family}: {job_id}")
    if args.wait:
        wait_for_jobs(jobs.values(), client, args.poll_seconds)
        print("all jobs succeeded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
