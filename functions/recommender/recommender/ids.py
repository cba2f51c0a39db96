"""User and item ids: checked against the catalogue sizes before onnxruntime sees them.

onnxruntime answers an out-of-range embedding id with an internal error text (and a negative
one may index from the end): every id is range-checked here, on both routes.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor


def check_user_tensor(name: str, ids: np.ndarray, num_users: int) -> None:
    """V2 route: an int64 tensor of user ids, each in 0..num_users-1."""
    bad = ids[(ids < 0) | (ids >= num_users)]
    if bad.size:
        raise InvalidTensor(f"input '{name}': unknown user id(s) {_few(bad.tolist())}; "
                            f"user ids are whole numbers 0..{num_users - 1}")


def parse_ids(value: Any, field: str, kind: str, count: int) -> list[int]:
    """Friendly route: a JSON list of whole numbers, each in 0..count-1."""
    if not isinstance(value, list):
        raise InvalidRequest(f"'{field}' must be a list of {kind} ids (whole numbers 0..{count - 1})")
    # JSON has one number type: 7.0 is the id 7 (as on the V2 route); 7.5, "7" and true are not ids.
    value = [int(v) if type(v) is float and v.is_integer() else v for v in value]
    wrong = [v for v in value if type(v) is not int]
    if wrong:
        raise InvalidRequest(f"'{field}': {kind} ids are whole numbers 0..{count - 1}, got {_few(wrong)}")
    unknown = [v for v in value if not 0 <= v < count]
    if unknown:
        raise InvalidRequest(f"'{field}': unknown {kind} id(s) {_few(unknown)}; "
                             f"{kind} ids are whole numbers 0..{count - 1}")
    return value


def _few(values: list[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
