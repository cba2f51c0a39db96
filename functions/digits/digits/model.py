"""Digits classifier: an 8x8 image (0..16, ink high, like sklearn's digits) -> 10 probabilities.

The V2 route takes the graph's `image` tensor as is (range-checked). The friendly route also
takes PNG/JPEG files of any size, turned into that 8x8 array the way the training data was
made (see image.py), and answers with the digit, its probabilities and the top k.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor, ModelIntegrityError
from lepton_serving.manifest import Manifest
from lepton_serving.model import Model, PredictRequest
from lepton_serving.options import top_k
from lepton_serving.protocol import decode_rows

from digits.image import image_to_digit, open_images

DEFAULT_K = 3
_FORMS = ("image", "images", "pixels", "instances")


class DigitsModel(Model):
    max_batch = 32  # images can be up to 1 MB each; the 6 MB body limit bounds them anyway
    row_noun = "images"

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
    def read_predict(self, doc: Any) -> PredictRequest:
        given = [f for f in _FORMS if isinstance(doc, dict) and f in doc]
        if len(given) != 1:
            raise InvalidRequest(
                'send exactly one of {"image": "<base64 PNG/JPEG>"}, {"images": [...]}, '
                '{"pixels": 8x8 numbers 0..16} or {"instances": [8x8, ...]}, optionally with "k"'
            )
        form = given[0]
        classes = len(self.labels or range(10))
        k = top_k(doc, DEFAULT_K, classes, f"there are only {classes} classes, so the most is {classes}")
        value = doc[form]
        rows = [value] if form in ("image", "pixels") else value
        if not isinstance(rows, list):
            raise InvalidRequest(f"'{form}' must be a list")
        return PredictRequest(rows, {"k": k, "form": form})

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        form, rows, spec = request.options["form"], request.rows, self.inputs[0]
        if form in ("image", "images"):
            where = ["'image'"] if form == "image" else [f"'images'[{i}]" for i in range(len(rows))]
            images = open_images(rows, where)  # every header (and the request's pixel total) first
            tensor = np.stack([image_to_digit(image, at, self.height, self.width, self.max_value)
                               for image, at in zip(images, where)])
            # Echo what the model saw: the quickest way to debug a surprising answer.
            request.options["pixels"] = tensor
            return {spec.name: tensor}
        for i, row in enumerate(rows):
            if not (isinstance(row, list) and len(row) == self.height
                    and all(isinstance(r, list) and len(r) == self.width for r in row)):
                where = "'pixels'" if form == "pixels" else f"'instances'[{i}]"
                raise InvalidRequest(f"{where} must be {self.height} rows of {self.width} numbers 0..{self.max_value:g}")
        return {spec.name: decode_rows(spec, rows)}

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        options = request.options
        k = options.get("k", DEFAULT_K)
        probabilities = outputs[self.outputs[0].name]
        labels = self.labels or [str(i) for i in range(probabilities.shape[1])]
        digits = [_as_digit(label) for label in labels]
        # Every row at once: one stable sort for the top k, one conversion to Python floats.
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k].tolist()
        predictions = [{
            "digit": digits[order[0]],
            "score": row[order[0]],
            "top_k": [{"digit": digits[i], "probability": row[i]} for i in order],
            "probabilities": row,
        } for row, order in zip(probabilities.tolist(), top)]
        pixels = options.get("pixels")
        if pixels is not None:
            for prediction, seen in zip(predictions, np.round(pixels.astype(np.float64), 2).tolist()):
                prediction["pixels"] = seen
        return {"predictions": predictions}


def _as_digit(label: str) -> int | str:
    """A label "7" is the digit 7; any other label ("²", "seven") is kept as it is."""
    return int(label) if label.isascii() and label.isdigit() else label
