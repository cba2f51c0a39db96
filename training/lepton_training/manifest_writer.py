"""Fill the shared Manifest (lepton_serving.manifest) from the exported file and the run's results."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from lepton_deploy.clock import now_iso
from lepton_serving.manifest import GoldenExample, Manifest

from .export import OPSET, read_specs, session
from .inputs import Inputs, feed, take

LOCAL_VERSION = 1  # publish.py assigns the real version


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), path.stat().st_size


def golden_examples(path: Path, inputs: Inputs, picks: np.ndarray,
                    requests: list[list[dict[str, Any]]] | None = None) -> list[GoldenExample]:
    """Single-row requests (rows ``picks`` of ``inputs``) and the outputs onnxruntime gives for
    them on the final file; ``requests``: the same rows as the function's public V2 inputs."""
    sess = session(path)
    in_names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    examples = []
    for n, i in enumerate(picks):
        x = feed(take(inputs, slice(int(i), int(i) + 1)), in_names)
        outputs = sess.run(None, x)
        examples.append(GoldenExample({name: value.tolist() for name, value in x.items()},
                                      {name: out.tolist() for name, out in zip(out_names, outputs)},
                                      requests[n] if requests else None))
    return examples


def framework_versions() -> dict[str, str]:
    import keras
    import onnx
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "opset": str(OPSET),
    }


def build_manifest(
    family: str,
    path: Path,
    labels: list[str] | None,
    preprocessing: dict[str, Any],
    metrics: dict[str, Any],
    golden: list[GoldenExample],
    training_data_sha256: str,
    quantized: bool,
    task: str = "",
) -> Manifest:
    sha256, size = file_digest(path)
    inputs, outputs = read_specs(path)
    return Manifest(
        name=family,
        version=LOCAL_VERSION,
        sha256=sha256,
        size=size,
        inputs=inputs,
        outputs=outputs,
        family=family,
        labels=list(labels) if labels is not None else None,
        preprocessing=preprocessing,
        metrics=metrics,
        golden=golden,
        training_data_sha256=training_data_sha256,
        framework=framework_versions(),
        quantized=quantized,
        created_at=now_iso(),
        task=str(task),
    )
