"""A served model's lifecycle: load -> preprocess -> predict -> postprocess.

A model function subclasses Model and overrides only what differs from "the V2 tensors are
the ONNX graph's tensors": its friendly JSON, its pre/post-processing, a public signature.

The friendly route runs in three steps so the data plane can hold the batch limit in one
place, before anything is converted: `read_predict` picks the rows and options out of the JSON,
the data plane counts the rows, `decode_predict` turns the rows into the V2 input tensors.

A model whose graph takes text (text.py: a STRING input, or token ids and a tokenizer.json)
needs no code either: both routes take raw strings, ``{"texts": [...]}`` on the friendly route
and, for a tokenizer model, a BYTES ``text`` input on V2 besides the token tensors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import friendly
from .boundary import reading, running
from .errors import InvalidRequest, LeptonError, ModelIntegrityError, ModelNotReady
from .manifest import Manifest, TensorSpec
from .session import create_session
from .text import TEXT, TextInput, text_input

if TYPE_CHECKING:
    from .store import LocalModel


@dataclass
class PredictRequest:
    """A friendly-route request: its rows (one per answer, counted against the batch limit),
    the route's own options (k, items to exclude, ...) and, once decoded, the V2 input tensors."""

    rows: list
    options: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)


class Model:
    #: Most rows one request may carry (the function's LEPTON_MAX_BATCH may lower it).
    max_batch: int = 64
    #: What one row of the friendly route is called in messages ("65 texts is above ...").
    row_noun: str = "instances"

    def __init__(self, name: str):
        self.name = name
        self.ready = False
        self.manifest: Manifest | None = None
        self.session: Any = None
        self.text: TextInput | None = None  # how the graph takes text, when it does (text.py)
        self._output_names: list[str] = []

    # -- load ------------------------------------------------------------------------------
    def load(self, local: LocalModel, threads: int = 1) -> None:
        manifest = local.manifest
        self.session = create_session(local.read_bytes(), threads, where=f"{manifest.name} v{manifest.version}")
        self._output_names = [o.name for o in self.session.get_outputs()]
        self.text = text_input(manifest, local.tokenizer)
        self.manifest = manifest
        try:
            self.setup(manifest)
        except LeptonError:
            raise
        except Exception as exc:  # noqa: BLE001 - any setup failure is the version's, never a 500
            raise ModelIntegrityError(f"{manifest.name} v{manifest.version}: its manifest cannot set up this "
                                      f"function ({type(exc).__name__}: {exc}); publish a corrected version") from exc
        self.ready = True

    def setup(self, manifest: Manifest) -> None:
        """Hook: read preprocessing parameters (vocabulary, scales) from the manifest once."""

    @property
    def version(self) -> str:
        return str(self.manifest.version) if self.manifest else ""

    @property
    def labels(self) -> list[str] | None:
        return self.manifest.labels if self.manifest else None

    def labels_of(self, output: str) -> list[str] | None:
        """One output's labels: its own when the manifest labels outputs by name, else the one list."""
        if self.output_labels:
            return self.output_labels.get(output)
        return self.labels

    # -- the public V2 signature (defaults to the graph's own) ------------------------------
    @property
    def inputs(self) -> list[TensorSpec]:
        return self._require().inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._require().outputs

    @property
    def text_inputs(self) -> list[TensorSpec] | None:
        """A second V2 signature the model also takes: one text per row, for a tokenizer model."""
        return [TEXT] if self.text is not None and self.text.kind == "tokens" else None

    # -- inference ---------------------------------------------------------------------------
    def preprocess(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """V2 tensors -> the graph's feed. Identity when the public signature is the graph's."""
        return inputs

    def predict(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._require()
        with running(self.name):  # the caller's values: what onnxruntime refuses is a 422
            results = self.session.run(self._output_names, feed)
        return dict(zip(self._output_names, results))

    def postprocess(self, outputs: dict[str, np.ndarray], inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Graph outputs -> V2 outputs. `inputs` are the request's tensors, for context."""
        return outputs

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The lifecycle on a caller's tensors: preprocessing reads their values and onnxruntime
        runs on them, each inside the boundary (boundary.py); postprocessing is ours."""
        with reading("the request's values"):
            feed = self.preprocess(inputs)
        return self.postprocess(self.predict(feed), inputs)

    def decode_infer(self, inputs: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """A V2 request's checked tensors -> the model's input tensors, and what to tell the caller
        (response parameters). A tokenizer model's ``text`` becomes its token tensors here."""
        if self.text is None or self.text_inputs is None or TEXT.name not in inputs:
            return inputs, {}
        encoded = self.text.encode([str(t) for t in inputs[TEXT.name].reshape(-1).tolist()])
        return encoded.feed, {"truncated": encoded.truncated}

    # -- the friendly route (default: friendly.py's generic rows, for any signature) ----------
    def read_predict(self, doc: Any) -> PredictRequest:
        """Friendly JSON -> its rows and options, nothing converted yet. Default: {"instances": [...]}
        for one input, {"inputs": {"<name>": [...], ...}} (or instances as objects) for several;
        {"texts": [...]} (or {"text": "..."}) for a model that takes text."""
        if self.text is not None and isinstance(doc, dict) and ("texts" in doc or "text" in doc):
            return PredictRequest(friendly.read_texts(doc), {"texts": True})
        try:
            return PredictRequest(friendly.read_rows(doc, self.inputs))
        except InvalidRequest as exc:
            if self.text is None:
                raise
            raise InvalidRequest(f'send {{"texts": ["...", ...]}} (strings); or the graph\'s own rows: '
                                 f"{exc.message}") from exc

    def decode_predict(self, request: PredictRequest) -> dict[str, np.ndarray]:
        """The rows -> V2 input tensors, each checked against its spec (texts -> the graph's feed)."""
        if request.options.get("texts") and self.text is not None:
            encoded = self.text.encode(request.rows)
            if self.text.kind == "tokens":
                request.options["truncated"] = encoded.truncated
            return encoded.feed
        return friendly.decode(request.rows, self.inputs)

    def encode_predict(self, outputs: dict[str, np.ndarray], request: PredictRequest) -> dict[str, Any]:
        """V2 outputs -> friendly JSON. Default: one entry per row, labelled when the manifest has
        labels and an output holds one score per label (each score output its own, with
        per-output labels); a tokenizer model's answer says which texts were cut."""
        answer = friendly.encode(outputs, self.labels, len(request.rows), self.output_labels)
        if "truncated" in request.options:
            answer["truncated"] = request.options["truncated"]
        return answer

    @property
    def output_labels(self) -> dict[str, list[str]] | None:
        return self.manifest.output_labels if self.manifest else None

    def _require(self) -> Manifest:
        if not self.ready or self.manifest is None:
            raise ModelNotReady(f"model '{self.name}' is not loaded yet")
        return self.manifest
