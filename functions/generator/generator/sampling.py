"""Seeds and the latent vectors drawn from them.

A seed and a count always give the same vectors, here and in training's evaluation (its
SAMPLER): numpy's default_rng(seed).standard_normal((count, latent_dim), dtype=float32). That
is what makes a friendly-route answer reproducible, and the published figures checkable.
"""
from __future__ import annotations

import secrets
from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest

MAX_SEED = 2**63 - 1  # numpy takes any non-negative integer; JSON parsers stop at 64 bits


def parse_seed(value: Any) -> int:
    """The request's seed (a whole number 0..MAX_SEED), or a fresh random one when it is absent."""
    if value is None:
        return secrets.randbelow(2**32)
    value = int(value) if type(value) is float and value.is_integer() else value  # JSON's 7.0 is 7
    if type(value) is not int or not 0 <= value <= MAX_SEED:
        raise InvalidRequest(f"'seed' must be a whole number from 0 to {MAX_SEED}, got {value!r}; "
                             "leave it out to get a random one")
    return value


def latent_vectors(seed: int, count: int, latent_dim: int) -> np.ndarray:
    """``count`` standard-normal latent vectors [count, latent_dim] (float32) from ``seed``."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim), dtype=np.float32)
