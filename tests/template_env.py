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


def template_environment(logical_id: str, names: Mapping[str, str]) -> dict[str, str]:
    resolved = copy.copy(_parsed())  # shares the parsed document; only the names differ
    resolved.names = dict(names)
    return dict(resolved.functions()[logical_id].environment)
