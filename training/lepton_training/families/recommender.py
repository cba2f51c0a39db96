"""recommender: user embedding . item embeddings (+ item bias) -> a score for every item.

Trained on SYNTHETIC implicit feedback (see data/recommender.py) with a multinomial
(softmax over all items) likelihood, which suits top-k ranking of a small catalogue.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from lepton_serving.manifest import Task, TensorSpec

from .. import report
from ..data import recommender as data
from ..data.types import InteractionData
from ..evaluate import K, popularity_baseline, ranking_metrics
from ..train import Trained, fit
from .base import Family, Predict


class RecommenderFamily(Family):
    name = "recommender"
    input_name = "user_id"
    output_name = "scores"
    labels = None
    primary_metric = f"ndcg_at_{K}"
    task = Task.RANKER
    defaults = {
        "epochs": 15,
        "batch_size": 64,
        "learning_rate": 0.01,
        "factors": 8,
        "l2": 1e-5,
        "num_users": 400,
        "num_items": 200,
        "data_seed": 7,
    }
    quick = {"epochs": 1, "folds": 2, "num_users": 120}
    search_grid = {"factors": [8, 16, 32], "l2": [1e-5]}

    def load(self, hp: dict[str, Any]) -> InteractionData:
        return data.generate(num_users=int(hp["num_users"]), num_items=int(hp["num_items"]), seed=int(hp["data_seed"]))

    def sha256(self, data_: InteractionData) -> str:
        return data_.sha256

    def info(self, data_: InteractionData) -> dict[str, Any]:
        return dict(data_.info, num_users=data_.num_users, num_items=data_.num_items,
                    train_size=len(data_.train), test_size=len(data_.test))

    def train_part(self, data_: InteractionData) -> np.ndarray:
        return data_.train

    def test_part(self, data_: InteractionData) -> np.ndarray:
        return data_.test

    def folds(self, data_: InteractionData, k: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for mask in data.user_folds(data_.train, k, seed):
            yield data_.train[~mask], data_.train[mask]

    def _build(self, hp: dict[str, Any]) -> tuple[Any, Any]:
        import keras
        from keras import layers

        user = keras.Input(shape=(), dtype="int64", name=self.input_name)
        reg = keras.regularizers.L2(float(hp["l2"]))
        vector = layers.Embedding(int(hp["num_users"]), int(hp["factors"]), embeddings_regularizer=reg, name="user_factors")(user)
        # Dense = item factor matrix (kernel) plus item bias: scores are dot products, one per item.
        scores = layers.Dense(int(hp["num_items"]), kernel_regularizer=reg, name=self.output_name)(vector)
        model = keras.Model(user, scores, name="recommender")
        return model, model

    def fit(self, hp: dict[str, Any], part: np.ndarray, strategy: Any, validation: np.ndarray | None = None, verbose: int = 0) -> Trained:
        val = (validation[:, 0], validation[:, 1]) if validation is not None else None
        model, history = fit(
            lambda: self._build(hp), part[:, 0], part[:, 1], hp, strategy, val, verbose,
            from_logits=True, metrics=[],
        )
        return Trained(model, history, {})

    def inputs(self, trained: Trained, part: np.ndarray) -> np.ndarray:
        return np.unique(part[:, 0]).astype(np.int64)

    def score(self, predict: Predict, trained: Trained, part: np.ndarray, seen: np.ndarray) -> dict[str, float]:
        return ranking_metrics(predict, part, seen, K)

    def baseline(self, seen: np.ndarray, part: np.ndarray) -> dict[str, float]:
        num_items = int(max(seen[:, 1].max(initial=0), part[:, 1].max(initial=0))) + 1
        return popularity_baseline(seen, part, num_items, K)

    def plots(self, directory: Path, extra: dict[str, Any], test_metrics: dict[str, float]) -> list[str]:
        report.plot_ranking(directory / "ranking.png", test_metrics)
        return ["ranking.png"]

    def reference_context(self, data_: InteractionData) -> dict[str, Any]:
        """Users with training interactions are known; an item's popularity is its training count."""
        train = data_.train
        return {"known_users": np.unique(train[:, 0]).tolist(),
                "item_counts": np.bincount(train[:, 1], minlength=data_.num_items).tolist()}

    def preprocessing(self, trained: Trained, hp: dict[str, Any], data_: InteractionData) -> dict[str, Any]:
        return {
            "num_users": data_.num_users,
            "num_items": data_.num_items,
            "synthetic": True,
            "data_seed": int(hp["data_seed"]),
            "scores": "unnormalised dot products; rank descending",
        }

    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        return [TensorSpec("user_id", "INT64", [-1])], [TensorSpec("scores", "FP32", [-1, int(hp["num_items"])])]
