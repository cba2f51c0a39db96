"""Generator: a latent vector and a digit class -> an 8x8 image of that digit (0..16, ink high).

The V2 route is the graph's own signature, `z` FP32 [-1, latent] and `label` INT64 [-1] ->
`image` FP32 [-1, 8, 8], with labels range-checked first. The friendly route takes
{"digit": 3, "count": 4, "seed": 7}, draws the latent vectors from the seed (sampling.py) and
returns each image as its 8x8 values and a PNG (png.py), with the seed, so the answer can be
reproduced; without a seed it picks one. It also takes the generic rows of the signature,
{"instances": [{"z": [...], "label": 3}]}, as every model's friendly route does.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from lepton_serving.errors import InvalidRequest, InvalidTensor, ModelIntegrityError
from lepton_serving.manifest import Manifest
from lepton_serving.model import Model, PredictRequest
from lepton_serving.options import whole, whole_number

from generator.png import png_base64
from generator.sampling import latent_vectors, parse_seed

FIELDS = ("digit", "count", "seed")


class GeneratorModel(Model):
    max_batch = 64  # images per request, on both routes
    row_noun = "images"

    def setup(self, manifest: Manifest) -> None:
        prep = manifest.preprocessing
        specs = {s.name: s for s in manifest.inputs}
        z, label = specs.get("z"), specs.get("label")
        try:
            self.latent_dim, self.num_classes = int(prep["latent_dim"]), int(prep["num_classes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIntegrityError(f"generator v{manifest.version}: preprocessing needs integer latent_dim "
                                      f"and num_classes, got {prep}") from exc
        self.max_value = float(prep.get("max_value", 16.0))
        if (z is None or label is None or z.shape != [-1, self.latent_dim] or label.datatype != "INT64"
                or prep.get("ink", "high") != "high"):
            raise ModelIntegrityError(f"generator v{manifest.version}: inputs {[s.to_dict() for s in manifest.inputs]} "
                                      f"do not fit preprocessing {prep}; this function serves z [-1, latent_dim] "
                                      "and an INT64 label, ink-high images")

    # -- both routes ---------------------------------------------------------------------------
    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        labels = inputs["label"]
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            shown = ", ".join(str(v) for v in bad[:5].tolist())
            raise InvalidTensor(f"input 'label': digit class(es) {shown} out of range; labels are whole numbers "
                                f"0..{self.num_classes - 1}")
        return inputs

    # -- the friendly route --------------------------------------------------------------------
    def read_predict(self, doc: Any) -> PredictRequest:
        """{"digit", "count", "seed"}: one row per image to draw, each the digit's class. The generic
        rows of the signature ({"instances": [{"z": [...], "label": 3}, ...]}) draw from given latents."""
        if isinstance(doc, dict) and "digit" not in doc and ("instances" in doc or "inputs" in doc):
            request = super().read_predict(doc)
            request.options["latent"] = True
            return request
        if not isinstance(doc, dict) or "digit" not in doc:
            raise InvalidRequest(f'send {{"digit": 3}}, optionally with "count" (1..{self.max_batch}, default 1) '
                                 'and "seed" (a whole number; the same seed gives the same images)')
        unknown = sorted(set(doc) - set(FIELDS))
        if unknown:
            raise InvalidRequest(f"unknown field(s) {', '.join(repr(k) for k in unknown)}; "
                                 f"this route takes {', '.join(repr(f) for f in FIELDS)}")
        digit = whole(doc["digit"])
        if digit is None or not 0 <= digit < self.num_classes:
            raise InvalidRequest(f"'digit' must be a whole number from 0 to {self.num_classes - 1}, got {doc['digit']!r}")
        count = whole_number(doc.get("count", 1), "count", 1, self.max_batch,
                             f"the most one request draws is {self.max_batch} images")
        return PredictRequest([digit] * count, {"digit": digit, "seed": parse_seed(doc.get("seed"))})

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        if request.options.get("latent"):
            return super().decode_predict(request)
        count = len(request.rows)
        return {"z": latent_vectors(request.options["seed"], count, self.latent_dim),
                "label": np.asarray(request.rows, dtype=np.int64)}

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        images = outputs[self.outputs[0].name]
        if request.options.get("latent"):  # each image's class is its own row's label
            labels = request.inputs["label"].tolist()
            return {"images": [{"digit": digit, "pixels": image, "png": png}
                               for digit, image, png in zip(labels, images, png_base64(images, self.max_value))]}
        return {
            "digit": request.options["digit"],
            "seed": request.options["seed"],
            # float32 values as they are: the digits model reads them back bit for bit.
            "images": [{"pixels": image, "png": png} for image, png in zip(images, png_base64(images, self.max_value))],
        }

