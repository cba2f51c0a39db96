"""Tabular classifier: three numeric features in, two class probabilities out.

The normalisation learned in training is part of the graph, so both routes take raw values.
The friendly route also accepts rows as objects keyed by the manifest's feature names.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, ModelIntegrityError
from lepton_serving.manifest import Manifest
from lepton_serving.model import Model, PredictRequest
from lepton_serving.protocol import decode_rows


class TabularModel(Model):
    feature_names: list[str] = []

    def setup(self, manifest: Manifest) -> None:
        names = manifest.preprocessing.get("feature_names", [])
        width = manifest.inputs[0].shape[-1]
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)
                and (not names or width < 0 or len(names) == width)):
            raise ModelIntegrityError(f"tabular v{manifest.version}: preprocessing.feature_names must be "
                                      f"{width} strings, one per input column, got {names!r}"[:300])
        self.feature_names = names

    def read_predict(self, doc: Any) -> PredictRequest:
        if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list):
            raise InvalidRequest('send {"instances": [[x1, x2, x3], ...]}, one row per instance')
        return PredictRequest(doc["instances"])

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        spec = self.inputs[0]
        width = spec.shape[-1]
        names = self.feature_names
        rows = request.rows
        # Rows that are all lists of the right width pass as they are (checked in C, not row by row).
        if set(map(type, rows)) != {list} or set(map(len, rows)) != {width}:
            rows = [self._row(r, i, names, width) for i, r in enumerate(rows)]
        return {spec.name: decode_rows(spec, rows)}

    @staticmethod
    def _row(row: Any, index: int, names: list[str], width: int) -> Any:
        if isinstance(row, dict):
            missing = [n for n in names if n not in row]
            if not names or missing:
                raise InvalidRequest(f"instance {index} is missing feature(s) {missing or 'names'}; expected {names}")
            return [row[n] for n in names]
        if not isinstance(row, list) or len(row) != width:
            raise InvalidRequest(f"instance {index} must be a list of {width} numbers (or an object keyed by {names})")
        return row
