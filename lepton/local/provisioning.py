"""What template.yaml declares, created in the local AWS and named as a deployed stack names it.

The redeploy path (deploy_setup.py: the deployments table, the deploy queue, the bucket's
notification, and each model function's capture path, capture_setup.py), the batch state machine
where moto can run it (step_functions.py), one role, and one Lambda function per template function
with version 1 and its `live` alias, as SAM makes them. moto stores each function's code but
cannot run it; the stack runs the real handlers in-process (function_host.py).
"""
from __future__ import annotations

import dataclasses
import io
import zipfile
from dataclasses import dataclass

from lepton_deploy.functions import ALIAS

from .capture_setup import capture_bucket_name, provision_captures
from .local_aws import REGION, LocalAws
from .stack_settings import StackSettings
from .template import FunctionSpec, Template

#: The local stack's name: its resources are `lepton-local-<logical id>`, its table `lepton-local-deployments`.
PREFIX = "lepton-local"
ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
               '"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


@dataclass(frozen=True)
class Provisioned:
    """What exists in the local AWS for the template, and what its functions are told of it."""

    template: Template  # every !Ref and !GetAtt resolved to what was created
    names: dict[str, str]  # logical id -> physical name (resource ARNs as `<id>.Arn`)
    environment: dict[str, str]  # what provisioning adds to every function's environment
    role_arn: str = ""  # the functions' role: a function the template gains later gets it too

    @property
    def table(self) -> str:
        return self.environment.get("LEPTON_DEPLOYMENTS_TABLE", f"{PREFIX}-deployments")

    def function_names(self) -> dict[str, str]:
        """Logical id -> physical name, of the template's functions."""
        return {lid: self.names[lid] for lid in self.template.functions()}


class Provisioner:
    def __init__(self, settings: StackSettings, aws: LocalAws):
        self.settings = settings
        self.aws = aws

    def template(self, names: dict[str, str] | None = None) -> Template:
        return Template(self.settings.template_path, names=names, parameters=self.settings.parameters)

    def names(self, template: Template) -> dict[str, str]:
        """The physical names a template's functions and model bucket get here."""
        return {"ModelBucket": self.settings.bucket, **{lid: f"{PREFIX}-{lid}" for lid in template.functions()}}

    def provision(self) -> Provisioned:
        """Create everything the template declares; a stack of one's own."""
        from .deploy_setup import provision as provision_redeploy
        from .step_functions import provision as provision_batch

        template = self.template()
        names = self.names(template)
        model_functions = {spec.model_name: names[lid] for lid, spec in template.functions().items() if spec.model_name}
        environment = provision_redeploy(self.aws.client, self.settings.bucket, model_functions, template=template,
                                         prefix=PREFIX)
        names.update(environment.pop("_names", {}))
        names["DeployQueue"] = names["DeployQueueUrl"]  # CloudFormation's !Ref of a queue is its URL
        batch = provision_batch(self.aws.client, template, PREFIX)  # LEPTON_BATCH_UNAVAILABLE if moto cannot run it
        names.update(batch.pop("_names"))
        environment.update(batch)
        role = self.aws.client("iam").create_role(RoleName=f"{PREFIX}-function", AssumeRolePolicyDocument=ROLE_POLICY)
        provisioned = Provisioned(self.template(names), names, environment, role["Role"]["Arn"])
        for logical_id in provisioned.template.functions():
            self.create_function(provisioned, logical_id)
        return provisioned

    def attached(self) -> Provisioned:
        """The names of a stack another process provisioned (`make up`): nothing is created."""
        names = {**self.names(self.template()), "CaptureBucket": capture_bucket_name(PREFIX)}
        return Provisioned(self.template(names), names, {})

    def add_functions(self, provisioned: Provisioned, logical_ids: list[str]) -> Provisioned:
        """Functions the template gained since it was provisioned: each created, and a model
        function's log group, capture stream and subscription filter with it."""
        for logical_id in logical_ids:
            self.create_function(provisioned, logical_id)
        if not logical_ids:
            return provisioned
        account = provisioned.role_arn.split(":")[4] if provisioned.role_arn.count(":") >= 4 else ""
        made = provision_captures(self.aws.client, provisioned.template,
                                  {lid: provisioned.names[lid] for lid in logical_ids}, PREFIX, account, REGION)
        return dataclasses.replace(provisioned, names={**provisioned.names, **made})

    def create_function(self, provisioned: Provisioned, logical_id: str) -> None:
        """One template function, with version 1 and its `live` alias, as SAM makes it."""
        spec: FunctionSpec = provisioned.template.functions()[logical_id]
        lam = self.aws.client("lambda")
        name = provisioned.names[logical_id]
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=provisioned.role_arn, Handler=spec.handler,
                            Code={"ZipFile": placeholder_zip()},
                            Environment={"Variables": {**spec.environment, **provisioned.environment}},
                            MemorySize=spec.memory_mb, Timeout=spec.timeout_s, Architectures=list(spec.architectures))
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=version)

    def delete_function(self, name: str) -> None:
        self.aws.client("lambda").delete_function(FunctionName=name)


def placeholder_zip() -> bytes:
    # moto stores code but cannot run it; the local stack runs the real handlers in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process in the Lepton local stack\n")
    return buffer.getvalue()
