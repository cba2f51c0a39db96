"""How every function reads its settings from its environment, one way.

Each function has one typed, frozen settings object (a model function's `ServingConfig`, the
deployer's `DeployerConfig`, the control API's `Settings`), built by its ``from_env`` through an
`EnvReader`. A variable that is not set takes its documented default; one that is set must be
valid, or the whole object is refused with one `ConfigError` that names every bad variable.
Nothing falls back silently to a default on a value it cannot read.

Each entry point builds its settings when the function starts (Lambda's init phase), and a
function whose settings are refused answers every request with that error (500, its reason)
instead of serving on a guess: `misconfigured.py` for a model function, the deployer's and the
control API's handlers for theirs.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from .errors import ConfigError

_WHOLE = re.compile(r"^[+-]?[0-9]+$")  # ASCII digits only: int() would also take "٣" or "1_000"
_SHOWN = 80  # how much of a bad value a message repeats

S = TypeVar("S")


class EnvReader:
    """Reads one function's variables, each to its type; collects every problem for `done`."""

    def __init__(self, env: Mapping[str, str], who: str):
        self.env = env
        self.who = who
        self.problems: list[str] = []

    def text(self, name: str, default: str = "", *, required: bool = False) -> str:
        value = self.raw(name)
        if not value and required:
            self.problems.append(f"{name} is not set")
        return value or default

    def whole(self, name: str, default: int, *, low: int | None = None, high: int | None = None) -> int:
        raw = self.raw(name)
        if not raw:
            return default
        if not _WHOLE.match(raw):
            return self._refuse(name, raw, "a whole number", default)
        return self._within(name, raw, int(raw), low, high, default)

    def number(self, name: str, default: float, *, low: float | None = None, high: float | None = None,
               below: float | None = None) -> float:
        """A finite number (NaN compares false with every bound, so it is refused first)."""
        raw = self.raw(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            return self._refuse(name, raw, "a number", default)
        if not math.isfinite(value):
            return self._refuse(name, raw, "a finite number", default)
        if below is not None and not value < below:
            return self._refuse(name, raw, f"below {_show(below)}", default)
        return self._within(name, raw, value, low, high, default)

    def json_object(self, name: str) -> dict[str, Any]:
        raw = self.raw(name)
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            self.problems.append(f"{name} is not valid JSON: {exc}")
            return {}
        if not isinstance(value, dict):
            return self._refuse(name, raw, "a JSON object", {})
        return value

    def raw(self, name: str) -> str:
        return str(self.env.get(name, "")).strip()

    def add(self, problems: Iterable[str]) -> None:
        """Problems found by a check of its own (several variables that must agree)."""
        self.problems.extend(problems)

    def done(self) -> None:
        """Refuse the settings if anything read was wrong: one error that names every problem."""
        if self.problems:
            raise ConfigError(f"{self.who} is misconfigured: {'; '.join(self.problems)}")

    def _within(self, name: str, raw: str, value: Any, low: Any, high: Any, default: Any) -> Any:
        if low is not None and high is not None and not low <= value <= high:
            return self._refuse(name, raw, f"between {_show(low)} and {_show(high)}", default)
        if low is not None and not value >= low:
            return self._refuse(name, raw, f"at least {_show(low)}", default)
        if high is not None and not value <= high:
            return self._refuse(name, raw, f"at most {_show(high)}", default)
        return value

    def _refuse(self, name: str, raw: str, expected: str, default: Any) -> Any:
        self.problems.append(f"{name} must be {expected}, got {raw[:_SHOWN]!r}")
        return default  # only so the rest is read too: `done` refuses the whole object


def _show(bound: float) -> str:
    return str(bound) if isinstance(bound, int) else f"{bound:g}"


def once_per_environment(read: Callable[[Mapping[str, str]], S]) -> Callable[[Mapping[str, str]], S]:
    """``read`` (a ``from_env``) for entry points that look at a live environment on each call:
    validated once per distinct environment, which in Lambda, where it never changes, is once."""
    cached = lru_cache(maxsize=8)(lambda items: read(dict(items)))
    return lambda env: cached(frozenset(env.items()))


def check_at_cold_start(read: Callable[[Mapping[str, str]], Any], env: Mapping[str, str], log: Any, who: str) -> None:
    """In Lambda's init phase (the runtime API is set), read the settings once so that a mistake
    is logged at start-up; the function then refuses its work with the same reason until it is fixed."""
    if not env.get("AWS_LAMBDA_RUNTIME_API"):
        return
    try:
        read(env)
    except ConfigError as exc:
        log.error(f"{who} misconfigured; everything it is asked fails until it is fixed", extra={"reason": exc.message})
