"""A model's inputs: one array, or named arrays for a graph with several inputs.

Most families feed one tensor. The generator feeds two (`z` and `label`), as a dict keyed by
the graph's input names, which is also how Keras and onnxruntime take several inputs.
"""
from __future__ import annotations

from typing import Union

import numpy as np

Inputs = Union[np.ndarray, dict[str, np.ndarray]]


def rows(x: Inputs) -> int:
    """The batch size: every named array has the same first dimension."""
    if isinstance(x, dict):
        sizes = {len(v) for v in x.values()}
        if len(sizes) != 1:
            raise ValueError(f"named inputs disagree on the batch size: {sorted(sizes)}")
        return sizes.pop()
    return len(x)


def take(x: Inputs, index: slice | np.ndarray) -> Inputs:
    """Rows ``index`` of every array."""
    if isinstance(x, dict):
        return {name: value[index] for name, value in x.items()}
    return x[index]


def feed(x: Inputs, names: list[str]) -> dict[str, np.ndarray]:
    """An onnxruntime feed: a lone array goes to the graph's only input."""
    if isinstance(x, dict):
        return {name: x[name] for name in names}
    if len(names) != 1:
        raise ValueError(f"the graph takes {len(names)} inputs ({', '.join(names)}); pass them by name")
    return {names[0]: x}
