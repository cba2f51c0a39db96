"""The price list `lepton cost` reads: the deployment core's (lepton_deploy/prices.json), the same
file the deployer prices each version's receipt from, so the two never disagree."""
from __future__ import annotations

from lepton_deploy.prices import PRICE_FILE, Price, PriceFileError, Prices, load, parse

__all__ = ["PRICE_FILE", "Price", "PriceFileError", "Prices", "load", "parse"]
