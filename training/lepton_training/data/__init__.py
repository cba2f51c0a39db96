"""Data sets for the model families: loading, cleaning, splitting, fingerprinting."""
from __future__ import annotations

from .types import ClassificationData, InteractionData, fingerprint

__all__ = ["ClassificationData", "InteractionData", "fingerprint"]
