"""Options of the friendly routes that are not tensors (``k``, ...), parsed one way everywhere."""
from __future__ import annotations

from typing import Any

from .errors import InvalidRequest, LimitExceeded


def whole(value: Any) -> int | None:
    """A JSON whole number as an int, else None. JSON has one number type, so 5.0 is 5; 2.5, "5",
    true and null are not whole numbers."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value if type(value) is int else None


def whole_number(value: Any, name: str, low: int, high: int, too_many: str) -> int:
    """A JSON whole number in low..high (see `whole`). Above ``high`` is a LimitExceeded whose
    message ends with ``too_many``."""
    number = whole(value)
    if number is None or number < low:
        raise InvalidRequest(f"'{name}' must be a whole number from {low} to {high}, got {value!r}")
    if number > high:
        raise LimitExceeded(f"'{name}' is {number}; {too_many}")
    return number


def top_k(doc: dict[str, Any], default: int, most: int, why_most: str) -> int:
    """The ``k`` of a top-k answer: ``default`` when absent, else 1..``most``."""
    return whole_number(doc.get("k", default), "k", 1, most, why_most)
