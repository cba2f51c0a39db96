"""The price list: prices.json beside this module, every price with its source and the date it was read.

It lives in the deployment core because the deployer prices each version's receipt when it
publishes it (pricing.py); `lepton cost` reads the same file. Nothing is fetched at run time.
A price is looked up by name (`prices.unit("lambda.requests")` is the price of one request) so
the arithmetic never carries a "per million" factor of its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICE_FILE = Path(__file__).with_name("prices.json")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REQUIRED = ("value", "per", "unit", "what", "source", "read")


class PriceFileError(ValueError):
    """The price file is missing, malformed, or a price lacks its value, source or date."""


@dataclass(frozen=True)
class Price:
    name: str
    value: float  # in USD per `per` units
    per: float
    unit: str
    what: str
    source: str
    read: str  # YYYY-MM-DD, the day the figure was read
    found_in: str = ""
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def unit_price(self) -> float:
        """USD for one unit (one request, one GB-second, one instance-hour)."""
        return self.value / self.per

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)


class Prices:
    def __init__(self, entries: dict[str, Price], region: str, about: str = ""):
        self.entries, self.region, self.about = entries, region, about

    def __getitem__(self, name: str) -> Price:
        try:
            return self.entries[name]
        except KeyError:
            raise PriceFileError(f"no price named {name!r} in {PRICE_FILE.name}; "
                                 f"known: {', '.join(sorted(self.entries))}") from None

    def unit(self, name: str) -> float:
        return self[name].unit_price

    def names(self) -> list[str]:
        return sorted(self.entries)


def parse(document: dict[str, Any]) -> Prices:
    """Validate a price document: every price needs a positive value, its unit, a source URL and a date."""
    raw = document.get("prices")
    if not isinstance(raw, dict) or not raw:
        raise PriceFileError("the price file needs a non-empty 'prices' object")
    entries = {}
    for name, entry in raw.items():
        missing = [key for key in _REQUIRED if entry.get(key) in (None, "")]
        if missing:
            raise PriceFileError(f"price {name!r} lacks {', '.join(missing)}")
        if not isinstance(entry["value"], (int, float)) or entry["value"] <= 0 or entry["per"] <= 0:
            raise PriceFileError(f"price {name!r}: value and per must be positive numbers")
        if not str(entry["source"]).startswith("https://"):
            raise PriceFileError(f"price {name!r}: source must be an https:// URL, got {entry['source']!r}")
        if not _DATE.match(str(entry["read"])):
            raise PriceFileError(f"price {name!r}: read must be a date YYYY-MM-DD, got {entry['read']!r}")
        extra = tuple((k, v) for k, v in entry.items() if k not in (*_REQUIRED, "found_in"))
        entries[name] = Price(name=name, value=float(entry["value"]), per=float(entry["per"]), unit=entry["unit"],
                              what=entry["what"], source=entry["source"], read=entry["read"],
                              found_in=entry.get("found_in", ""), extra=extra)
    return Prices(entries, region=document.get("region", "us-east-1"), about=document.get("about", ""))


def load(path: Path = PRICE_FILE) -> Prices:
    try:
        return parse(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise PriceFileError(f"cannot read the price file {path}: {exc}") from exc
