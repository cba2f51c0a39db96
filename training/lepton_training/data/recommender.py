"""SYNTHETIC implicit-feedback data generated from latent factors with a fixed seed.

No real users exist behind these numbers. Each user and item gets a random latent vector; an item
also gets a popularity bias (a few items are liked by most users, as in real catalogues). A user's
affinity for an item is the scaled dot product plus the bias, and the user's interactions are a
sample without replacement from softmax(affinity) (Gumbel top-k). Per user, a random
``holdout`` share of the interactions (at least one) is held out for the test split.
"""
from __future__ import annotations

import numpy as np

from .types import InteractionData


def generate(
    num_users: int = 400,
    num_items: int = 200,
    factors: int = 8,
    min_per_user: int = 12,
    max_per_user: int = 40,
    popularity: float = 1.0,
    holdout: float = 0.2,
    seed: int = 7,
) -> InteractionData:
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    if max_per_user >= num_items:
        raise ValueError("max_per_user must be below num_items")
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(num_users, factors))
    items = rng.normal(size=(num_items, factors))
    bias = popularity * rng.normal(size=num_items)
    affinity = users @ items.T / np.sqrt(factors) * 2.0 + bias
    train: list[tuple[int, int]] = []
    test: list[tuple[int, int]] = []
    for user in range(num_users):
        count = int(rng.integers(min_per_user, max_per_user + 1))
        gumbel = rng.gumbel(size=num_items)
        chosen = np.argsort(-(affinity[user] + gumbel))[:count]
        rng.shuffle(chosen)
        held = max(1, int(round(holdout * count)))
        test.extend((user, int(i)) for i in chosen[:held])
        train.extend((user, int(i)) for i in chosen[held:])
    info = {
        "source": "synthetic (latent-factor model, Gumbel top-k sampling)",
        "synthetic": True,
        "data_seed": seed,
        "factors": factors,
        "per_user": [min_per_user, max_per_user],
        "popularity": popularity,
        "holdout": holdout,
        "interactions": len(train) + len(test),
    }
    return InteractionData(
        num_users,
        num_items,
        np.array(train, dtype=np.int64).reshape(-1, 2),
        np.array(test, dtype=np.int64).reshape(-1, 2),
        info,
    )


def user_folds(pairs: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """Fold number per pair: each user's interactions are spread over the k folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(pairs), dtype=np.int64)
    for user in np.unique(pairs[:, 0]):
        idx = np.flatnonzero(pairs[:, 0] == user)
        fold[idx] = (rng.permutation(len(idx)) + int(rng.integers(k))) % k
    return [fold == f for f in range(k)]
