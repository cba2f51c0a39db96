"""The manifest of an added model: its signature, its labels and golden examples that onnxruntime
computed, from the user's sample or from inputs generated to fit the signature.

The deployer's gate replays the golden examples before the version may go live, as for every
trained model, so a file that does not run is refused here first, with a reason.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
from lepton_deploy.clock import now_iso
from lepton_serving import friendly
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import MODEL_FILE, TOKENIZER_FILE, V2_TO_NUMPY, GoldenExample, Manifest, TokenizerFile
from lepton_serving.protocol import loads, parse_infer_request
from lepton_serving.session import create_session
from lepton_serving.text import StringInput, string_input

from .errors import Refused
from .inspection import OnnxModel, Tensor

GENERATED_BATCH = 2  # two rows, so the golden example also shows the batch dimension works
GENERATED_FREE_DIM = 4  # a dynamic dimension that is not the batch (a sequence length, say)
MAX_SAMPLE_ROWS = 64  # the functions' batch limit (LEPTON_MAX_BATCH)


def read_labels(values: list[str], model: OnnxModel) -> tuple[list[str] | None, dict[str, list[str]] | None]:
    """``--labels file`` (one list, for the output with one score per label) or ``--labels
    output=file``, once per score output: (labels, per-output labels)."""
    outputs = {t.name: t for t in model.outputs}
    named: dict[str, list[str]] = {}
    plain: list[str] | None = None
    for value in values:
        output, sep, file = value.partition("=")
        if sep and output in outputs:
            if output in named:
                raise Refused(f"--labels names output '{output}' twice", "give each output's labels once")
            named[output] = _labels_for(Path(file), [outputs[output]])
        elif plain is None and not named and len(values) == 1:
            plain = _labels_for(Path(value), model.outputs)
        else:
            raise Refused(f"--labels {value} names no output of the model ({', '.join(outputs)})",
                          "with several, give each as --labels <output>=<file>")
    return plain, named or None


def _labels_for(path: Path, candidates: list[Tensor]) -> list[str]:
    """One label per line; there must be an output with one score per label to attach them to."""
    if not path.is_file():
        raise Refused(f"there is no labels file {path}", "pass a text file with one label per line")
    labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    while labels and not labels[-1]:
        labels.pop()
    if not labels or any(not label for label in labels):
        raise Refused(f"{path} has an empty line among its labels", "write one label per line, in the order "
                      "of the model's scores")
    widths = {t.name: t.dims[-1] for t in candidates
              if len(t.dims) == 2 and t.datatype.startswith("FP") and isinstance(t.dims[-1], int)}
    if len(labels) not in widths.values():
        found = ", ".join(f"'{n}' has {w}" for n, w in widths.items()) or "no output is a [batch, n] score tensor"
        raise Refused(f"{path} has {len(labels)} labels, and no output has {len(labels)} scores per row ({found})",
                      "give one label per score, in the output's order, or leave --labels out")
    return labels


def sample_texts(path: Path | None) -> list[str] | None:
    """The texts of a ``{"texts": [...]}`` sample, None when the sample is something else."""
    if path is None or not Path(path).is_file():
        return None
    try:
        doc = loads(Path(path).read_bytes())
    except LeptonError:
        return None
    if not isinstance(doc, dict) or ("texts" not in doc and "text" not in doc):
        return None
    try:
        texts = friendly.read_texts(doc)
    except LeptonError as exc:
        raise Refused(f"{path}: {exc.message}", 'write {"texts": ["...", ...]}') from exc
    if not 1 <= len(texts) <= MAX_SAMPLE_ROWS:
        raise Refused(f"{path} has {len(texts)} texts", f"give 1 to {MAX_SAMPLE_ROWS}")
    return texts


def sample_inputs(path: Path, model: OnnxModel) -> dict[str, np.ndarray]:
    """A request read from a JSON file: the friendly route's body or a V2 inference body."""
    if not Path(path).is_file():
        raise Refused(f"there is no sample file {path}", 'pass a JSON file: {"instances": [...]} or a V2 request')
    specs = [t.spec for t in model.inputs]
    texts = sample_texts(path)
    strings = string_input(specs)
    if texts is not None and strings is not None:
        return StringInput(strings).encode(texts).feed
    text = Path(path).read_bytes()
    try:
        doc = loads(text)
        if isinstance(doc, dict) and isinstance(doc.get("inputs"), list):
            return parse_infer_request(text, specs, MAX_SAMPLE_ROWS).inputs
        rows = friendly.read_rows(doc, specs)
        if not 1 <= len(rows) <= MAX_SAMPLE_ROWS:
            raise Refused(f"{path} has {len(rows)} rows", f"give 1 to {MAX_SAMPLE_ROWS} rows")
        return friendly.decode(rows, specs)
    except LeptonError as exc:
        raise Refused(f"{path} does not fit the model: {exc.message}",
                      "the inputs are " + "; ".join(t.describe() for t in model.inputs)) from exc


def generated_inputs(model: OnnxModel, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs that fit the signature: small random numbers, 0/1 for integers (safe as indices),
    a short word for strings; the batch dimension gets two rows."""
    rng = np.random.default_rng(seed)
    return {t.name: _generated(t, rng) for t in model.inputs}


def _generated(tensor: Tensor, rng: np.random.Generator) -> np.ndarray:
    shape = [d if isinstance(d, int) else (GENERATED_BATCH if i == 0 else GENERATED_FREE_DIM)
             for i, d in enumerate(tensor.dims)]
    dtype = np.dtype(V2_TO_NUMPY[tensor.datatype])
    if tensor.datatype == "BYTES":
        return np.full(shape, "lepton", dtype=object)
    if tensor.datatype == "BOOL":
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(0, 2, size=shape).astype(dtype)


def run(model: OnnxModel, inputs: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    session = create_session(model.data, threads=1, where=model.path.name)
    names = [o.name for o in session.get_outputs()]
    try:
        return dict(zip(names, session.run(names, inputs)))
    except Exception as exc:  # onnxruntime's untyped errors
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        fix = ('pass --sample sample.json with a real request ({"instances": [...]} or a V2 body)'
               if source == "generated" else "check the sample against the inputs above")
        raise Refused(f"onnxruntime cannot run the model on the {source} inputs: {first}", fix) from exc


def build_manifest(name: str, model: OnnxModel, labels: list[str] | None, inputs: dict[str, np.ndarray],
                   outputs: dict[str, np.ndarray], output_labels: dict[str, list[str]] | None = None,
                   tokenizer: TokenizerFile | None = None, request: list[dict[str, Any]] | None = None) -> Manifest:
    example = GoldenExample({k: json_values(v) for k, v in inputs.items()},
                            {k: json_values(v) for k, v in outputs.items()}, request)
    half = any(t.datatype == "FP16" for t in model.outputs)
    return Manifest(
        name=name, version=1, sha256=model.sha256, size=model.size,
        inputs=[t.spec for t in model.inputs], outputs=[t.spec for t in model.outputs],
        labels=labels, output_labels=output_labels, tokenizer=tokenizer, golden=[example],
        # FP16 keeps ~3 significant digits: another CPU (Lambda's arm64) may differ in the last one.
        golden_tolerance=1e-2 if half else 1e-4,
        preprocessing={"source": model.path.name, "dimensions": {t.name: list(t.dims) for t in model.inputs}},
        framework={"producer": model.producer, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                   "opset": str(model.opsets.get("", model.opsets.get("ai.onnx", "")))},
        created_at=now_iso(),
    )


def json_values(array: np.ndarray) -> Any:
    return friendly.plain(np.asarray(array))


def write_artifact(folder: Path, model: OnnxModel, manifest: Manifest, sample: dict[str, np.ndarray],
                   tokenizer: bytes | None = None) -> None:
    """model.onnx, its tokenizer.json, manifest.json (last: it marks the folder complete) and
    sample.json, the V2 request the golden example ran (its texts, for a tokenizer model), ready
    for curl."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(model.data)
    if tokenizer is not None:
        (folder / TOKENIZER_FILE).write_bytes(tokenizer)
    request = {"inputs": manifest.golden[0].request} if manifest.golden[0].request else v2_request(manifest, sample)
    (folder / "sample.json").write_text(json.dumps(request) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(manifest.to_json() + "\n", encoding="utf-8")


def v2_request(manifest: Manifest, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    specs = {s.name: s for s in manifest.inputs}
    return {"inputs": [{"name": n, "shape": list(a.shape), "datatype": specs[n].datatype,
                        "data": json_values(a.ravel())} for n, a in inputs.items()]}
