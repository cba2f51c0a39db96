"""The environment variables every deployment component reads, parsed one way.

LEPTON_FUNCTIONS           {"tabular": "<function name>", ...}: which function serves each model
LEPTON_DEPLOYMENTS_TABLE   deployment records, live pointers, leases

The deployer (deployer/config.py), the control API (control/settings.py) and the drift check
(monitoring/settings.py) add their own, read through the same `EnvReader`.
"""
from __future__ import annotations

from lepton_serving.environment import EnvReader
from lepton_serving.manifest import valid_name

FUNCTIONS_ENV = "LEPTON_FUNCTIONS"
TABLE_ENV = "LEPTON_DEPLOYMENTS_TABLE"


def read_functions(read: EnvReader) -> dict[str, str]:
    """LEPTON_FUNCTIONS: a JSON object of model name -> function name, at least one."""
    known = len(read.problems)
    mapping = read.json_object(FUNCTIONS_ENV)
    if not mapping and len(read.problems) == known:  # unset or {}; malformed JSON is reported already
        read.add([f'{FUNCTIONS_ENV} must map each model to its function, e.g. {{"tabular": "lepton-tabular"}}'])
    bad = [m for m, fn in mapping.items() if not valid_name(m) or not isinstance(fn, str) or not fn]
    if bad:
        read.add([f"{FUNCTIONS_ENV}: each model name must be lower-case letters, digits and '-' and map to a "
                  f"function name; wrong: {', '.join(map(repr, bad))}"])
    return {m: fn for m, fn in mapping.items() if m not in bad}


def read_table(read: EnvReader) -> str:
    """LEPTON_DEPLOYMENTS_TABLE, which every deployment component needs."""
    return read.text(TABLE_ENV, required=True)
