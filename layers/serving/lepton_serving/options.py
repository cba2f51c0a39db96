"""Options of the friendly routes that are not tensors (``k``, ...), parsed one way everywhere."""
from __future__ import annotations

from typing import Any

from .errors import InvalidRequest, LimitExceeded


def whole_number(value: Any, name: str, low: int, high: int, too_many: str) -> int:
    """A JSON whole number in low..high. JSON has one number type, so 5.0 is 5; 2.5, "5" and
    true are not. Above ``high`` is a LimitExceeded whose message ends with ``too_many``."""
    value = int(value) if type(value) is float and value.is_integer() else value
    if type(value) is not int or value < low:
        raise InvalidRequest(f"'{name}' must be a whole number from {low} to {high}, got {value!r}")
    if value > high:
        raise LimitExceeded(f"'{name}' is {value}; {too_many}")
    return value


def top_k(doc: dict[str, Any], default: int, most: int, why_most: str) -> int:
    """The ``k`` of a top-k answer: ``default`` when absent, else 1..``most``."""
    return whole_number(doc.get("k", default), "k", 1, most, why_most)
