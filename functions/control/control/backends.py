"""The control API's AWS wiring: clients once per execution environment, the backends on them.

The only place in the control function that creates clients or reads where AWS is: the
service and the libraries below it get everything passed in.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from lepton_deploy.captures import CaptureStore
from lepton_deploy.functions import LambdaFunctions
from lepton_deploy.invoke import LambdaInvoker
from lepton_deploy.registry import Registry
from lepton_deploy.rollout import Rollout
from lepton_serving import clients
from lepton_serving.bucket import ModelBucket
from lepton_serving.table import DeploymentsTable

from control.batch_jobs import BatchJobs
from control.replays import Replays
from control.service import Backends
from control.settings import Settings


def build(settings: Settings, env: Mapping[str, str], aws: Callable[[str], Any] = clients.client,
          lambda_api: Any = None) -> Backends:
    """``lambda_api``: what answers `lepton replay`'s calls of a published version (default:
    Lambda's client; the local stack's stand-in with the same ``invoke``)."""
    registry = Registry(DeploymentsTable(aws("dynamodb"), settings.table))
    functions = LambdaFunctions(aws("lambda"))
    presign = presigner(env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
                        env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))
    batch = BatchJobs(settings, functions, aws("stepfunctions"), ModelBucket(aws("s3"), settings.batch_bucket, presign))
    models = ModelBucket(aws("s3"), settings.bucket, presign)
    captures = CaptureStore(aws("s3"), settings.capture_bucket) if settings.capture_bucket else None
    replays = Replays(settings, registry, functions, models, captures,
                      LambdaInvoker(lambda_api if lambda_api is not None else aws("lambda")))
    return Backends(registry, Rollout(registry, functions), functions, models, batch, replays)


@lru_cache(maxsize=4)
def presigner(endpoint: str | None, region: str | None) -> Any:
    """An S3 client that presigns with SigV4. botocore still presigns with SigV2 in us-east-1,
    which S3 does not accept for buckets created after June 2020 and which signs no headers.
    Keyed by endpoint and region, so a changed environment gets a new one."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint,
                                          config=Config(signature_version="s3v4"))
