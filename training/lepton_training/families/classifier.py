"""Shared behaviour of the three classifier families (tabular, digits, sentiment)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lepton_serving.manifest import Task

from .. import report
from ..evaluate import classification_metrics, confusion_matrix, majority_baseline
from ..train import Trained, fit
from .base import Predict
from .labelled import LabelledFamily, Part


class ClassifierFamily(LabelledFamily):
    primary_metric = "accuracy"
    task = Task.CLASSIFIER

    # -- to implement per family -------------------------------------------------------------
    def fit_state(self, hp: dict[str, Any], x_raw: np.ndarray) -> dict[str, Any]:
        """Preprocessing learned from the fitting data only (normalisation stats, vocabulary)."""
        return {}

    def transform(self, state: dict[str, Any], x_raw: np.ndarray) -> np.ndarray:
        return x_raw

    def build(self, hp: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
        """(train_model, inference_model)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------
    def fit(self, hp: dict[str, Any], part: Part, strategy: Any, validation: Part | None = None, verbose: int = 0) -> Trained:
        state = self.fit_state(hp, part.x)
        x = self.transform(state, part.x)
        val = (self.transform(state, validation.x), validation.y) if validation is not None else None
        model, history = fit(lambda: self.build(hp, state), x, part.y, hp, strategy, val, verbose)
        return Trained(model, history, state)

    def inputs(self, trained: Trained, part: Part) -> np.ndarray:
        return self.transform(trained.state, part.x)

    def score(self, predict: Predict, trained: Trained, part: Part, seen: Part) -> dict[str, float]:
        return classification_metrics(part.y, predict(self.inputs(trained, part)), len(self.labels))

    def baseline(self, seen: Part, part: Part) -> dict[str, float]:
        return majority_baseline(seen.y, part.y, len(self.labels))

    def extra_report(self, trained: Trained, part: Part, predict: Predict) -> dict[str, Any]:
        y_pred = np.argmax(predict(self.inputs(trained, part)), axis=1)
        return {"confusion_matrix": confusion_matrix(part.y, y_pred, len(self.labels)), "labels": self.labels}

    def plots(self, directory: Path, extra: dict[str, Any], test_metrics: dict[str, float]) -> list[str]:
        report.plot_confusion(directory / "confusion_matrix.png", extra["confusion_matrix"], extra["labels"])
        return ["confusion_matrix.png"]
