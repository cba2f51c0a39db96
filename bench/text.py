"""The text models users bring, as the cold-start section runs them beside the trained families.

bench/text_models.py builds them (a TF-IDF pipeline, a WordPiece tokenizer.json, a Keras attention
model over it); `lepton add` adds each, exactly as a user would, to a copy of the project under the
work dir (template.yaml and functions/ copied, layers/ linked), and the function it writes is
what runs: `reviews` reads strings itself, `moods` tokenizes with the TokenizersLayer. Built once
and kept in the work dir.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from .common import ROOT, Settings
from .models import BenchModel

#: name -> (model file, --tokenizer, --labels) in the built folder
ADDED = {"reviews": ("tfidf.onnx", None, ["sentiment.txt"]),
         "moods": ("attention.onnx", "tokenizer.json", ["sentiment=sentiment.txt", "source=source.txt"])}


def text_models(settings: Settings) -> list[BenchModel]:
    from lepton.local.template import Template

    wanted = [n for n in ADDED if not settings.families or n in settings.families]
    if not wanted:
        return []
    project = _project(settings.work / "text")
    template = Template(project / "template.yaml")
    specs = {spec.model_name: spec for spec in template.functions().values() if spec.model_name}
    models = []
    for name in wanted:
        spec = specs[name]
        artifact = project / ".lepton" / "artifacts" / name
        manifest = json.loads((artifact / "manifest.json").read_text())
        model = BenchModel(name, spec.logical_id, spec.code_uri, spec.handler, spec.layers, artifact, manifest,
                           added=True)
        model.event_path = _text_event(model, settings.work)
        models.append(model)
    return models


def _project(work: Path) -> Path:
    """The project copy with both models added (once: kept while its template is there)."""
    from lepton.byom.cli import add_model

    from .text_models import build_text_models

    project = work / "project"
    if (project / ".lepton" / "artifacts" / "moods" / "manifest.json").is_file():
        return project
    shutil.rmtree(work, ignore_errors=True)
    built = build_text_models(work / "models")
    project.mkdir(parents=True)
    shutil.copy2(ROOT / "template.yaml", project / "template.yaml")
    shutil.copytree(ROOT / "functions", project / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "layers").symlink_to(ROOT / "layers", target_is_directory=True)
    for name, (model, tokenizer, labels) in ADDED.items():
        add_model(project, name, built.folder / model, [_in(built.folder, value) for value in labels],
                  tokenizer_path=built.folder / tokenizer if tokenizer else None)
    return project


def _in(folder: Path, value: str) -> str:
    output, sep, file = value.rpartition("=")
    return f"{output}={folder / file}" if sep else str(folder / value)


def _text_event(model: BenchModel, work: Path) -> Path:
    """The request a user sends a text model: V2 with the golden example's texts (what the
    function tokenizes), or the graph's own string tensor."""
    from lepton.local.http_events import http_event

    golden = model.manifest["golden"][0]
    tensors = golden.get("request") or [{"name": s["name"], "datatype": s["datatype"],
                                         "shape": [len(golden["inputs"][s["name"]])],
                                         "data": golden["inputs"][s["name"]]} for s in model.inputs]
    path = f"/v2/models/{model.name}/infer"
    event = http_event("POST", path, f"POST {path}", headers={"content-type": "application/json"},
                       body=json.dumps({"id": "bench", "inputs": tensors}).encode(),
                       path_parameters={"name": model.name})
    target = work / "events" / f"{model.name}-infer.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(event))
    return target
