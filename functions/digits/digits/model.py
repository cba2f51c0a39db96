"""Digits classifier: an 8x8 image (0..16, ink high, like sklearn's digits) -> 10 probabilities.

The V2 route takes the graph's `image` tensor as is (range-checked). The friendly route also
takes PNG/JPEG files of any size, turned into that 8x8 array the way the training data was
made (see image.py), and answers with the digit, its probabilities and the top k.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor, LimitExceeded, ModelIntegrityError
from lepton_serving.manifest import Manifest
from lepton_serving.model import Model, PredictRequest
from lepton_serving.protocol import decode_tensor

from digits.image import image_to_digit

DEFAULT_K = 3
_FORMS = ("image", "images", "pixels", "instances")


class DigitsModel(Model):
    max_batch = 32  # images can be up to 1 MB each; the 6 MB body limit bounds them anyway

    def setup(self, manifest: Manifest) -> None:
        prep = manifest.preprocessing
        spec = manifest.inputs[0]
        self.height, self.width = int(prep.get("height", 8)), int(prep.get("width", 8))
        self.max_value = float(prep.get("max_value", 16.0))
        if prep.get("ink", "high") != "high" or spec.shape[1:] != [self.height, self.width]:
            raise ModelIntegrityError(
                f"digits v{manifest.version}: manifest preprocessing {prep} does not match input "
                f"{spec.name} {spec.shape}; this function serves ink-high {self.height}x{self.width} images"
            )

    # -- both routes ---------------------------------------------------------------------------
    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        name = self.inputs[0].name
        image = inputs[name]
        low, high = float(image.min(initial=0)), float(image.max(initial=0))
        if low < 0 or high > self.max_value:
            raise InvalidTensor(
                f"input '{name}': pixel values must be 0..{self.max_value:g} (ink high, background 0), "
                f"got {low:g}..{high:g}; rescale them, or send a PNG/JPEG to /models/{self.name}/predict"
            )
        return {name: image}

    # -- the friendly route --------------------------------------------------------------------
    def decode_predict(self, doc: Any) -> PredictRequest:
        given = [f for f in _FORMS if isinstance(doc, dict) and f in doc]
        if len(given) != 1:
            raise InvalidRequest(
                'send exactly one of {"image": "<base64 PNG/JPEG>"}, {"images": [...]}, '
                '{"pixels": 8x8 numbers 0..16} or {"instances": [8x8, ...]}, optionally with "k"'
            )
        form = given[0]
        k = _top_k(doc.get("k", DEFAULT_K), len(self.labels or range(10)))
        value = doc[form]
        rows = [value] if form in ("image", "pixels") else value
        if not isinstance(rows, list):
            raise InvalidRequest(f"'{form}' must be a list")
        if len(rows) > self.max_batch:
            raise LimitExceeded(f"{len(rows)} images is above this model's maximum of {self.max_batch}; split the request")
        spec = self.inputs[0]
        if form in ("image", "images"):
            where = "'image'" if form == "image" else "'images'[{}]"
            arrays = [image_to_digit(r, where.format(i), self.height, self.width, self.max_value)
                      for i, r in enumerate(rows)]
            tensor = np.stack(arrays) if arrays else np.zeros((0, self.height, self.width), np.float32)
            # Echo what the model saw: the quickest way to debug a surprising answer.
            return PredictRequest({spec.name: tensor}, {"k": k, "pixels": tensor})
        shape = [len(rows), self.height, self.width]
        for i, row in enumerate(rows):
            if not (isinstance(row, list) and len(row) == self.height
                    and all(isinstance(r, list) and len(r) == self.width for r in row)):
                where = "'pixels'" if form == "pixels" else f"'instances'[{i}]"
                raise InvalidRequest(f"{where} must be {self.height} rows of {self.width} numbers 0..{self.max_value:g}")
        tensor = decode_tensor({"datatype": spec.datatype, "shape": shape, "data": rows}, spec)
        return PredictRequest({spec.name: tensor}, {"k": k})

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        options = request.options
        k = options.get("k", DEFAULT_K)
        probabilities = outputs[self.outputs[0].name]
        labels = self.labels or [str(i) for i in range(probabilities.shape[1])]
        pixels = options.get("pixels")
        predictions = []
        for n, row in enumerate(probabilities):
            order = np.argsort(-row, kind="stable")[:k]
            best = int(order[0])
            predictions.append({
                "digit": _as_digit(labels[best]),
                "score": float(row[best]),
                "top_k": [{"digit": _as_digit(labels[i]), "probability": float(row[i])} for i in order],
                "probabilities": [float(p) for p in row],
            })
            if pixels is not None:
                predictions[-1]["pixels"] = np.round(pixels[n].astype(np.float64), 2).tolist()
        return {"predictions": predictions}


def _top_k(k: Any, classes: int) -> int:
    k = int(k) if type(k) is float and k.is_integer() else k  # JSON's 3.0 is 3
    if type(k) is not int or k < 1:
        raise InvalidRequest(f"'k' must be a whole number from 1 to {classes}, got {k!r}")
    if k > classes:
        raise LimitExceeded(f"'k' is {k}; there are only {classes} classes, so the most is {classes}")
    return k


def _as_digit(label: str) -> int | str:
    return int(label) if label.isdigit() else label
