"""The JSON document a `lepton ... --json` command printed, found in a stdout it shares: in a
test, the local stack's functions run in the same process and log to the same stdout."""
from __future__ import annotations

import json
from typing import Any


def document_with(out: str, key: str) -> dict[str, Any]:
    """The first JSON object in ``out`` that has ``key``."""
    decoder, at = json.JSONDecoder(), 0
    while (at := out.find("{", at)) >= 0:
        try:
            doc, end = decoder.raw_decode(out, at)
        except ValueError:
            at += 1
            continue
        if isinstance(doc, dict) and key in doc:
            return doc
        at = end
    raise AssertionError(f"no JSON document with '{key}' in the output: {out[-2000:]}")
