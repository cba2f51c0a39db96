"""What a model family provides to the pipeline: data, folds, fitting, scoring and its I/O contract."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from lepton_serving.manifest import Task, TensorSpec

from ..inputs import Inputs
from ..train import Trained

Predict = Callable[[Inputs], np.ndarray]


class Family(ABC):
    name: str
    input_name: str
    output_name: str
    labels: list[str] | None
    primary_metric: str  # what search and the quantisation bound compare
    task: Task  # what the outputs mean: the manifest's "task", how the replay gate compares versions
    defaults: dict[str, Any]  # model hyperparameters (pipeline options are added by hyperparams.py)
    quick: dict[str, Any]  # overrides for --quick: a handful of steps on a small subset
    search_grid: dict[str, list[Any]]  # the tiny grid for --search
    #: Hyperparameter -> family whose trained artifact directory it names; the pipeline trains
    #: that family first when the directory is not given and has no model yet.
    requires: dict[str, str] = {}
    #: What the learning-curve plot shows: each key of the history (and its val_ curve from CV).
    curves: tuple[str, ...] = ("loss", "accuracy")

    @abstractmethod
    def load(self, hp: dict[str, Any]) -> Any:
        """The data, split into train and test; quick runs get a subset."""

    @abstractmethod
    def sha256(self, data: Any) -> str: ...

    @abstractmethod
    def info(self, data: Any) -> dict[str, Any]: ...

    @abstractmethod
    def folds(self, data: Any, k: int, seed: int) -> Iterator[tuple[Any, Any]]:
        """(fit, validation) pairs of the training part, for cross-validation."""

    @abstractmethod
    def train_part(self, data: Any) -> Any: ...

    @abstractmethod
    def test_part(self, data: Any) -> Any: ...

    @abstractmethod
    def fit(
        self, hp: dict[str, Any], part: Any, strategy: Any, validation: Any | None = None, verbose: int = 0
    ) -> Trained: ...

    @abstractmethod
    def inputs(self, trained: Trained, part: Any) -> Inputs:
        """The ONNX-level input array for a part (e.g. token ids): exactly what serving sends."""

    @abstractmethod
    def score(self, predict: Predict, trained: Trained, part: Any, seen: Any) -> dict[str, float]:
        """Metrics of ``predict`` (TensorFlow or onnxruntime) on ``part``; ``seen`` is its training part."""

    @abstractmethod
    def baseline(self, seen: Any, part: Any) -> dict[str, float]: ...

    @abstractmethod
    def preprocessing(self, trained: Trained, hp: dict[str, Any], data: Any) -> dict[str, Any]: ...

    @abstractmethod
    def contract(self, hp: dict[str, Any], trained: Trained | None = None) -> tuple[list[TensorSpec], list[TensorSpec]]:
        """The (inputs, outputs) TensorSpecs serving is written against."""

    def extra_report(self, trained: Trained, part: Any, predict: Predict) -> dict[str, Any]:
        """Family-specific detail for metrics.json (e.g. a confusion matrix)."""
        return {}

    def plots(self, directory: Path, extra: dict[str, Any], test_metrics: dict[str, float]) -> list[str]:
        """Write the family's own plots into ``directory``; return their file names."""
        return []

    def golden_requests(self, part: Any, picks: np.ndarray) -> list[list[dict[str, Any]]] | None:
        """The golden rows as V2 requests to the function, when its public signature differs from
        the graph's (the deployer's pre-traffic check sends them); None when it is the graph's."""
        return None

    def reference_inputs(self, trained: Trained, part: Any) -> dict[str, np.ndarray]:
        """``part`` as the function's V2 inputs, the way a capture records a request: what the
        reference profile is computed on. Default: the graph's own inputs."""
        x = self.inputs(trained, part)
        return dict(x) if isinstance(x, dict) else {self.input_name: x}

    def reference_context(self, data: Any) -> dict[str, Any]:
        """What the family's drift features need from the training data (e.g. its users)."""
        return {}

    def golden_rows(self, total: int, count: int) -> np.ndarray:
        """Which rows of the test inputs become the manifest's golden examples: spread evenly."""
        return np.linspace(0, total - 1, num=min(count, total)).round().astype(int)
