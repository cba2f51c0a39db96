"""The models every section runs: the same ONNX files (and Keras models for the TF baseline).

For each model function in template.yaml the suite uses, in this order, the artifacts `lepton up`
trained (.lepton/artifacts/<name>), earlier bench artifacts (.lepton/bench/artifacts/<name>), or
trains them now with lepton_training (quick settings, in a subprocess: TensorFlow stays out of
this process). The TensorFlow baseline needs a Keras model: training's own `*.keras` if it saves
one, else (tabular) a Keras model of the same architecture trained here for a few steps.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import ROOT, Settings


@dataclass
class BenchModel:
    name: str
    logical_id: str
    code_uri: Path
    handler: str  # module.attr, as in the template
    layers: list[Path]
    artifact_dir: Path
    manifest: dict[str, Any]
    keras_path: Path | None = None
    event_path: Path | None = None
    added: bool = False  # added with `lepton add` (bench/text.py), not a template's trained family
    # set once published to the local S3
    key: str = ""
    version: str = ""

    @property
    def model_path(self) -> Path:
        return self.artifact_dir / self.manifest.get("model_file", "model.onnx")

    @property
    def tokenizer_path(self) -> Path | None:
        """The tokenizer.json the manifest pins, which travels with the model."""
        return self.artifact_dir / "tokenizer.json" if self.manifest.get("tokenizer") else None

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.manifest["inputs"]

    def event(self) -> dict[str, Any]:
        """The function's own `events/<name>/infer.json`, else one built from the manifest."""
        if self.event_path is not None:
            return json.loads(self.event_path.read_text())
        from lepton.local.http_events import http_event

        path = f"/v2/models/{self.name}/infer"
        return http_event("POST", path, f"POST {path}", headers={"content-type": "application/json"},
                          body=self.body(1), path_parameters={"name": self.name})

    def body(self, batch: int, flat: bool = False) -> bytes:
        """The function's own V2 request (events/<name>/infer.json, its public signature) cut to its
        first row and repeated to `batch` rows."""
        import orjson

        if self.event_path is None:
            return self.graph_body(batch, flat)
        doc = orjson.loads(json.loads(self.event_path.read_text())["body"])
        tensors = []
        for tensor in doc["inputs"]:
            shape = list(tensor["shape"])
            per_row = 1
            for d in shape[1:]:
                per_row *= d
            first = _flatten(tensor["data"])[:per_row]
            data = first * batch
            if not flat and len(shape) > 1:
                data = [_nest(first, shape[1:]) for _ in range(batch)]
            tensors.append({**tensor, "shape": [batch, *shape[1:]], "data": data})
        return orjson.dumps({"id": "bench", "inputs": tensors})

    def graph_body(self, batch: int, flat: bool = False) -> bytes:
        """A V2 request for the ONNX graph's own inputs, from the manifest's golden example."""
        import orjson

        golden = (self.manifest.get("golden") or [{}])[0].get("inputs", {})
        tensors = []
        for spec in self.inputs:
            rows = golden.get(spec["name"]) or [[0] * max(1, spec["shape"][-1])]
            row = rows[0]
            data = _flatten(row) * batch if flat else [row] * batch
            tensors.append({"name": spec["name"], "shape": [batch, *_shape(row)], "datatype": spec["datatype"],
                            "data": data})
        return orjson.dumps({"id": "bench", "inputs": tensors})

    def public_is_graph(self) -> bool:
        """Whether the function's V2 signature is the graph's (else peers get the graph's body)."""
        import orjson

        if self.event_path is None:
            return True
        doc = orjson.loads(json.loads(self.event_path.read_text())["body"])
        return sorted(t["name"] for t in doc["inputs"]) == sorted(s["name"] for s in self.inputs)


def _flatten(data: Any) -> list:
    if not isinstance(data, list):
        return [data]
    out: list = []
    for item in data:
        out.extend(_flatten(item))
    return out


def _nest(flat: list, shape: list[int]) -> Any:
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _shape(row: Any) -> list[int]:
    shape = []
    while isinstance(row, list):
        shape.append(len(row))
        row = row[0] if row else None
    return shape


def discover(settings: Settings) -> list[BenchModel]:
    from lepton.local.template import Template

    template = Template(ROOT / "template.yaml")
    models = []
    for logical_id, spec in template.functions().items():
        name = spec.model_name
        if not name or (settings.families and name not in settings.families):
            continue
        artifact_dir = artifacts_for(name, settings)
        if artifact_dir is None:
            settings.say(f"  {name}: no trained model" + ("" if settings.train else " (--no-train)") + "; skipped")
            continue
        manifest = json.loads((artifact_dir / "manifest.json").read_text())
        event = ROOT / "events" / name / "infer.json"
        model = BenchModel(name, logical_id, spec.code_uri, spec.handler, spec.layers, artifact_dir, manifest,
                           event_path=event if event.is_file() else None)
        model.keras_path = keras_for(model, settings) if settings.tf_baseline else None
        models.append(model)
    return models


def artifacts_for(name: str, settings: Settings) -> Path | None:
    for folder in (ROOT / ".lepton" / "artifacts" / name, settings.work / "artifacts" / name):
        if (folder / "manifest.json").is_file() and (folder / "model.onnx").is_file():
            return folder
    out = settings.work / "artifacts"
    if not settings.train:
        return _fallback_tabular(out / name) if name == "tabular" else None
    settings.say(f"  {name}: training a quick model for the benchmark (once; kept in {out / name})")
    code = ("import sys; from pathlib import Path; from lepton_training import train_family; "
            "train_family(sys.argv[1], Path(sys.argv[2]), quick=True)")
    done = subprocess.run([sys.executable, "-c", code, name, str(out)], capture_output=True, text=True)
    if done.returncode == 0 and (out / name / "manifest.json").is_file():
        return out / name
    settings.say(f"  {name}: training failed: {(done.stderr or '').strip().splitlines()[-1:]}")
    if name == "tabular":
        return _fallback_tabular(out / name)
    return None


def keras_for(model: BenchModel, settings: Settings) -> Path | None:
    saved = sorted(model.artifact_dir.glob("*.keras"))
    if saved:
        return saved[0]
    if model.name != "tabular":
        return None
    path = settings.work / "keras" / "tabular.keras"
    if not path.is_file():
        settings.say("  tabular: building the Keras model for the TensorFlow baseline (once)")
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "bench.children.keras_tabular", str(path)], check=True,
                       cwd=ROOT, capture_output=True)
    return path


def _fallback_tabular(folder: Path) -> Path:
    """The seed network built with the onnx helper API (no TensorFlow), when training is unavailable."""
    import hashlib

    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from lepton_serving.manifest import GoldenExample, Manifest, TensorSpec

    rng = np.random.default_rng(0)
    weights = {"W1": rng.normal(size=(3, 5)), "b1": rng.normal(size=(5,)),
               "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=(2,))}
    nodes = [helper.make_node("MatMul", ["features", "W1"], ["h0"]), helper.make_node("Add", ["h0", "b1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["h2"]), helper.make_node("MatMul", ["h2", "W2"], ["z0"]),
             helper.make_node("Add", ["z0", "b2"], ["z1"]),
             helper.make_node("Softmax", ["z1"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(
        nodes, "tabular", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    data = proto.SerializeToString()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(data)
    manifest = Manifest(name="tabular", version=1, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                        inputs=[TensorSpec("features", "FP32", [-1, 3])],
                        outputs=[TensorSpec("probabilities", "FP32", [-1, 2])], family="tabular",
                        labels=["malignant", "benign"],
                        golden=[GoldenExample({"features": [[14.1, 19.3, 0.04]]}, {"probabilities": [[0.5, 0.5]]})])
    (folder / "manifest.json").write_text(manifest.to_json())
    return folder
