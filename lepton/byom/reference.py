"""`lepton add --reference FILE`: an added model's reference profile, from data the user gives.

The file holds inputs like those the model should expect (its training data, or a sample of it):

- ``.npy``: one array, the rows of the model's only input (``[n, ...]``, as a V2 request's tensor);
- ``.jsonl``: one row per line, as the friendly route takes one: a value for a model with one
  input (``[5.1, 3.5, 1.4]``), an object of values by input name for several.

The rows run through the model under onnxruntime (its answers are part of the profile: the
predicted class), and lepton_drift profiles them exactly as training profiles its split. The
profile is written beside the model as ``reference.json`` and pinned by the manifest, so the
deployer's gate checks it like every profile. Without ``--reference``, the model's first captured
window becomes its baseline, and the drift check says so.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from lepton_drift.errors import ProfileError
from lepton_drift.features import extractor_for
from lepton_drift.profile import REFERENCE_DATA, build_profile, sha256_of
from lepton_serving import friendly
from lepton_serving.errors import LeptonError
from lepton_serving.manifest import REFERENCE_FILE, Manifest, ReferenceFile
from lepton_serving.protocol import decode_rows
from lepton_serving.session import create_session

from .errors import Refused
from .inspection import OnnxModel

#: Rows read from a reference file, at most: enough for stable bins, bounded for memory.
MAX_ROWS = 100_000
#: The fewest rows a profile is made from: fewer would make its own noise look like drift.
MIN_ROWS = 100
BATCH = 256


def read_reference_rows(path: Path, model: OnnxModel) -> dict[str, np.ndarray]:
    """The file's rows as the model's V2 input tensors."""
    path = Path(path)
    specs = [t.spec for t in model.inputs]
    if not path.is_file():
        raise Refused(f"there is no reference file {path}", "pass a .npy array of input rows or a .jsonl file")
    try:
        if path.suffix == ".npy":
            if len(specs) != 1:
                raise Refused(f"{path.name} is one array, and the model takes {len(specs)} inputs",
                              "give a .jsonl file with one object per row, a value for each input")
            array = np.load(path, allow_pickle=False)
            return {specs[0].name: decode_rows(specs[0], array[:MAX_ROWS].tolist())}
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()][:MAX_ROWS]
        rows = [json.loads(line) for line in lines]
        doc = {"instances": rows}
        return friendly.decode(friendly.read_rows(doc, specs), specs)
    except (ValueError, OSError) as exc:
        raise Refused(f"{path.name} cannot be read as reference rows: {str(exc)[:200]}",
                      "give a .npy array (one input) or a .jsonl file, one row per line") from exc
    except LeptonError as exc:
        raise Refused(f"{path.name} does not fit the model: {exc.message}",
                      "the inputs are " + "; ".join(t.describe() for t in model.inputs)) from exc


def reference_profile(path: Path, model: OnnxModel, manifest: Manifest) -> bytes:
    """The profile of the file's rows and of the model's answers to them, as reference.json's
    bytes, pinned in ``manifest``."""
    inputs = read_reference_rows(path, model)
    count = len(next(iter(inputs.values())))
    if count < MIN_ROWS:
        raise Refused(f"{Path(path).name} has {count} rows; a reference profile needs at least {MIN_ROWS}",
                      "give more rows (up to the first 100,000 are read), or leave --reference out to use the "
                      "first captured window")
    session = create_session(model.data, threads=1, where=model.path.name)
    names = [o.name for o in session.get_outputs()]
    parts = [session.run(names, {k: v[start:start + BATCH] for k, v in inputs.items()})
             for start in range(0, count, BATCH)]
    outputs = {name: np.concatenate([p[i] for p in parts]) for i, name in enumerate(names)}
    extractor = extractor_for(manifest)
    try:
        profile = build_profile(extractor, extractor.columns(inputs, outputs), model=manifest.name,
                                source=REFERENCE_DATA, created_at=manifest.created_at,
                                description=f"{Path(path).name}: {count:,} rows and the model's answers to them")
    except ProfileError as exc:
        raise Refused(f"no reference profile from {Path(path).name}: {exc.message}", "check the file's rows") from exc
    data = profile.to_bytes()
    manifest.reference = ReferenceFile(sha256_of(data), len(data), profile.rows)
    return data


def write_reference(folder: Path, data: bytes) -> None:
    """reference.json into the artifact folder (before its manifest, which marks the folder complete)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / REFERENCE_FILE).write_bytes(data)
