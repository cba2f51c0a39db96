"""A function's environment as `sam deploy` sets it: template.yaml's own (Globals merged), its
intrinsics resolved by the names a test's moto resources were given."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache

from eventfiles import ROOT
from lepton.local.template import Template


@lru_cache(maxsize=1)
def _parsed() -> Template:
    return Template(ROOT / "template.yaml")


def template_environment(logical_id: str, names: Mapping[str, str],
                         parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """``parameters`` override the template's defaults, as `--parameter-overrides` does (the local
    stack's own, lepton.local.stack_settings.LOCAL_PARAMETERS)."""
    resolved = copy.copy(_parsed()) if not parameters else Template(ROOT / "template.yaml", parameters=parameters)
    resolved.names = dict(names)  # shares the parsed document; only the names differ
    return dict(resolved.functions()[logical_id].environment)
