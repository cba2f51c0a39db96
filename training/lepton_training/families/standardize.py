"""An in-graph feature standardisation layer: (x - mean) / std with the stats stored as weights.

keras.layers.Normalization keeps its statistics as captured constant tensors, which the ONNX
exporter turns into extra graph *inputs*; weights become initializers like any Dense kernel.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="lepton")
class Standardize(keras.layers.Layer):
    def __init__(self, mean: Any, std: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        std = np.asarray(std, dtype=np.float32).reshape(-1)
        self._std = np.where(std > 0, std, 1.0).astype(np.float32)  # a constant column stays finite

    def build(self, input_shape: Any) -> None:
        size = self._mean.shape[0]
        self.mean = self.add_weight(shape=(size,), initializer=keras.initializers.Constant(self._mean),
                                    trainable=False, name="mean")
        self.std = self.add_weight(shape=(size,), initializer=keras.initializers.Constant(self._std),
                                   trainable=False, name="std")

    def call(self, inputs: Any) -> Any:
        return (inputs - self.mean) / self.std

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self._mean.tolist(), "std": self._std.tolist()}
