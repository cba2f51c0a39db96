"""A served model's lifecycle: load -> preprocess -> predict -> postprocess.

A model function subclasses Model and overrides only what differs from "the V2 tensors are
the ONNX graph's tensors": its friendly JSON, its pre/post-processing, a public signature.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidRequest, ModelNotReady
from .manifest import Manifest, TensorSpec
from .session import create_session

if TYPE_CHECKING:
    from .store import LocalModel


@dataclass
class PredictRequest:
    """A friendly-route request, decoded: the V2 input tensors plus the route's own options
    (k, items to exclude, ...) that shape the response but are not tensors."""

    inputs: dict[str, np.ndarray]
    options: dict[str, Any] = field(default_factory=dict)


class Model:
    #: Most rows one request may carry (the function's LEPTON_MAX_BATCH may lower it).
    max_batch: int = 64

    def __init__(self, name: str):
        self.name = name
        self.ready = False
        self.manifest: Manifest | None = None
        self.session: Any = None
        self._output_names: list[str] = []

    # -- load ------------------------------------------------------------------------------
    def load(self, local: LocalModel, threads: int = 1) -> None:
        manifest = local.manifest
        self.session = create_session(local.read_bytes(), threads, where=f"{manifest.name} v{manifest.version}")
        self._output_names = [o.name for o in self.session.get_outputs()]
        self.manifest = manifest
        self.setup(manifest)
        self.ready = True

    def setup(self, manifest: Manifest) -> None:
        """Hook: read preprocessing parameters (vocabulary, scales) from the manifest once."""

    @property
    def version(self) -> str:
        return str(self.manifest.version) if self.manifest else ""

    @property
    def labels(self) -> list[str] | None:
        return self.manifest.labels if self.manifest else None

    # -- the public V2 signature (defaults to the graph's own) ------------------------------
    @property
    def inputs(self) -> list[TensorSpec]:
        return self._require().inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._require().outputs

    # -- inference ---------------------------------------------------------------------------
    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """V2 tensors -> the graph's feed. Identity when the public signature is the graph's."""
        return inputs

    def predict(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._require()
        return dict(zip(self._output_names, self.session.run(self._output_names, feed)))

    def postprocess(self, outputs: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Graph outputs -> V2 outputs. `inputs` are the request's tensors, for context."""
        return outputs

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.postprocess(self.predict(self.preprocess(inputs)), inputs)

    # -- the friendly route --------------------------------------------------------------------
    def decode_predict(self, doc: Any) -> PredictRequest:
        """Friendly JSON -> V2 input tensors and options. Default: {"instances": [...]}, one input."""
        from .protocol import decode_tensor

        if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list):
            raise InvalidRequest('send {"instances": [...]}, one entry per row')
        spec = self.inputs[0]
        rows = doc["instances"]
        shape = [len(rows), *(_row_shape(rows[0]) if rows else [])]
        return PredictRequest({spec.name: decode_tensor({"datatype": spec.datatype, "shape": shape, "data": rows}, spec)})

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        """V2 outputs -> friendly JSON. Default: labelled class probabilities when labels exist."""
        labels = self.labels
        first = next(iter(outputs.values()))
        if not labels or first.ndim != 2 or first.shape[1] != len(labels):
            return {"predictions": first.tolist()}
        best = first.argmax(axis=1)
        return {
            "predictions": [
                {"label": labels[i], "score": float(row[i]), "probabilities": dict(zip(labels, map(float, row)))}
                for i, row in zip(best, first)
            ]
        }

    def _require(self) -> Manifest:
        if not self.ready or self.manifest is None:
            raise ModelNotReady(f"model '{self.name}' is not loaded yet")
        return self.manifest


def _row_shape(row: Any) -> list[int]:
    shape: list[int] = []
    while isinstance(row, list):
        shape.append(len(row))
        row = row[0] if row else None
    return shape
