"""HTTP API route matching: static routes first, then the most specific parameterised one."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .template import Route

_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+)(\+?)\}")


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


class RouteTable:
    def __init__(self, routes: list[Route]):
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: list[tuple[int, int, re.Pattern[str], Route]] = []
        for route in routes:
            if "{" not in route.path:
                self._static[(route.method, route.path)] = route
                continue
            pattern, greedy = self._compile(route.path)
            # More literal characters and no greedy parameter = more specific, as API Gateway ranks.
            literal = len(_PARAM.sub("", route.path))
            self._dynamic.append((greedy, -literal, pattern, route))
        self._dynamic.sort(key=lambda item: (item[0], item[1]))

    def match(self, method: str, path: str) -> Match | None:
        for key in ((method, path), ("ANY", path)):
            if key in self._static:
                return Match(self._static[key], {})
        for _, _, pattern, route in self._dynamic:
            if route.method not in (method, "ANY"):
                continue
            found = pattern.fullmatch(path)
            if found:
                return Match(route, found.groupdict())
        return None

    @staticmethod
    def _compile(path: str) -> tuple[re.Pattern[str], int]:
        greedy = 0
        parts, last = [], 0
        for found in _PARAM.finditer(path):
            parts.append(re.escape(path[last:found.start()]))
            if found.group(2):
                greedy = 1
                parts.append(f"(?P<{_group(found.group(1))}>.+)")
            else:
                parts.append(f"(?P<{_group(found.group(1))}>[^/]+)")
            last = found.end()
        parts.append(re.escape(path[last:]))
        return re.compile("".join(parts)), greedy


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)
