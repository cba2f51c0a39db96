"""The model families, by name."""
from __future__ import annotations

from .base import Family
from .digits import DigitsFamily
from .generator import GeneratorFamily
from .recommender import RecommenderFamily
from .sentiment import SentimentFamily
from .tabular import TabularFamily

FAMILIES: dict[str, type[Family]] = {
    "tabular": TabularFamily,
    "digits": DigitsFamily,
    "sentiment": SentimentFamily,
    "recommender": RecommenderFamily,
    "generator": GeneratorFamily,
}


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]()
    except KeyError:
        raise ValueError(f"unknown family '{name}'; choose one of {', '.join(FAMILIES)}") from None


__all__ = ["FAMILIES", "Family", "get_family"]
