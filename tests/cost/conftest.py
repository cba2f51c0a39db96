"""The round price list as a fixture (see cost_inputs.py for the numbers)."""
from __future__ import annotations

import pytest
from cost_inputs import ROUND_PRICES

from lepton.cost import prices


@pytest.fixture
def round_prices() -> prices.Prices:
    return prices.parse({"region": "us-east-1", "prices": ROUND_PRICES})
