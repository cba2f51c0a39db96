"""Serving what template.yaml declares now, while the stack runs, as `sam deploy` would update it.

A function the template gains is created in the local AWS with its `live` alias and, for a model,
its artifact is published through the normal upload path; a function it loses stops being routed
and is deleted; a changed one (the deployer and the control API learning a model) is configured
again. `template_watch.py` notices the edits (`lepton add`, `lepton remove`, an editor).
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from .function_host import FunctionHost
from .local_api import LocalApi
from .provisioning import PREFIX, Provisioned, Provisioner
from .stack_settings import StackSettings
from .template import Template
from .template_watch import TemplateWatch

log = logging.getLogger("lepton.local.stack")


class TemplateFollower:
    def __init__(self, settings: StackSettings, provisioner: Provisioner, provisioned: Provisioned,
                 host: FunctionHost, api: LocalApi | None, publish: Callable[[list[str]], object]):
        """``publish``: trains what is missing and publishes these models (artifacts.py)."""
        self.settings = settings
        self.provisioner = provisioner
        self.provisioned = provisioned
        self.host = host
        self.api = api
        self.publish = publish
        self.watch = TemplateWatch(settings.template_path, self.reload)

    @property
    def template(self) -> Template:
        return self.provisioned.template

    @property
    def names(self) -> dict[str, str]:
        return self.provisioned.names

    def reload(self) -> dict[str, list[str]]:
        fresh = self.provisioner.template().functions()
        added = [lid for lid in fresh if lid not in self.host.specs]
        removed = [lid for lid in self.host.specs if lid not in fresh]
        names = {k: v for k, v in self.names.items() if k not in removed}
        names.update({lid: f"{PREFIX}-{lid}" for lid in added})
        gone = [self.names[lid] for lid in removed]
        self.provisioned = self.provisioner.add_functions(
            dataclasses.replace(self.provisioned, template=self.provisioner.template(names), names=names), added)
        specs = self.template.functions()
        changed = self.host.update(self.template, self.provisioned.function_names())
        if self.api is not None:
            self.api.follow(self.template, self.names)
        for name in gone:  # after nothing routes to them or follows their alias
            self.provisioner.delete_function(name)
        models = [specs[lid].model_name for lid in added if specs[lid].model_name]
        if served := [m for m in models if self.settings.serves(m)]:
            self.publish(served)
        if added or removed:
            said = [f"serving {', '.join(added)}"] * bool(added) + [f"no longer serving {', '.join(removed)}"] * bool(removed)
            log.info("template.yaml changed: %s", "; ".join(said))
        return {"added": added, "removed": removed, "changed": sorted(changed)}

    def start(self) -> None:
        self.watch.start()

    def stop(self) -> None:
        self.watch.stop()
