"""The reference profile a run writes beside its model (``reference.json``).

It describes the training split the way the drift check will describe live requests: the
family's features (lepton_drift.features) of the training rows, given as the function's V2
inputs (what a capture records), and of the shipped model's answers to them, run under
onnxruntime on the final file. The manifest pins its sha256 and size like the model's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lepton_drift.features import extractor_for
from lepton_drift.profile import TRAINING, build_profile, sha256_of
from lepton_serving.manifest import REFERENCE_FILE, Manifest, ReferenceFile

from .export import session
from .inputs import Inputs, feed, rows, take

BATCH = 512


def model_outputs(path: Path, x: Inputs) -> dict[str, np.ndarray]:
    """Every output of the ONNX file at ``path`` for ``x``, by output name, in batches."""
    sess = session(path)
    in_names = [i.name for i in sess.get_inputs()]
    out_names = [o.name for o in sess.get_outputs()]
    parts: list[list[np.ndarray]] = []
    for start in range(0, rows(x), BATCH):
        parts.append(sess.run(out_names, feed(take(x, slice(start, start + BATCH)), in_names)))
    return {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(out_names)}


def write_reference(family: Any, trained: Any, part: Any, data: Any, model_path: Path, manifest: Manifest,
                    artifact_dir: Path) -> ReferenceFile:
    """Profile the training ``part`` and write it to ``artifact_dir/reference.json``; return the
    manifest's pin for it."""
    inputs = family.reference_inputs(trained, part)
    extractor = extractor_for(manifest, family.reference_context(data))
    outputs = {}
    if set(extractor.needs) - set(inputs):  # the features read the model's answers too
        outputs = model_outputs(model_path, family.inputs(trained, part))
    columns = extractor.columns(inputs, outputs)
    count = len(next(iter(inputs.values())))
    profile = build_profile(extractor, columns, model=manifest.name, source=TRAINING, family=family.name,
                            description=f"the training split ({count:,} rows) and the shipped model's answers to it",
                            created_at=manifest.created_at)
    body = profile.to_bytes()
    (Path(artifact_dir) / REFERENCE_FILE).write_bytes(body)
    return ReferenceFile(sha256_of(body), len(body), profile.rows)
