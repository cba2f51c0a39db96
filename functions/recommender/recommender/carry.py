"""Friendly-route options (k, ...) carried with the request's tensors to the response encoder.

The data plane hands `decode_predict`'s tensors to `model(...)` and only the outputs to
`encode_predict`; `postprocess` sees both, so it moves the options across. Nothing is kept on
the model between requests, and the V2 route (plain dicts) is unaffected.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class WithOptions(dict[str, np.ndarray]):
    """Tensors plus the options of the request that produced them."""

    def __init__(self, tensors: dict[str, np.ndarray], **options: Any):
        super().__init__(tensors)
        self.options = options


def carry(outputs: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if isinstance(inputs, WithOptions):
        return WithOptions(outputs, **inputs.options)
    return outputs


def options_of(outputs: dict[str, np.ndarray]) -> dict[str, Any]:
    return outputs.options if isinstance(outputs, WithOptions) else {}
