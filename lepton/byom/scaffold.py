"""functions/<name>/: the function package `lepton add` writes. No model-specific code is needed:
the handler serves the library's generic model, and model.py is a thin subclass whose commented
hooks show where pre- and post-processing would go."""
from __future__ import annotations

import shutil
from pathlib import Path

from lepton_serving.manifest import Manifest
from lepton_serving.text import string_input

from .names import pascal
from .template_edit import ModelFunction

HANDLER = '''"""Lambda entry point for the {name} model (written by `lepton add`): everything but the model
lives in the serving layer."""
from lepton_serving import serve

from {package}.model import {cls}

lambda_handler = serve({cls})
'''

MODEL = '''"""{name}: an ONNX model served by Lepton's generic model (written by `lepton add`).

Nothing here is needed. V2 (POST /v2/models/{name}/infer) takes the graph's own tensors:
{signature}
The friendly route (POST /models/{name}/predict) takes {friendly}
and answers one entry per row{labelled}.

To add pre- or post-processing, uncomment a hook below. Each runs on every request of both
routes; `self.manifest` is the live version's manifest (models/{name}/<version>/manifest.json).
"""
from __future__ import annotations

from lepton_serving.model import Model


class {cls}(Model):
    pass

    # def setup(self, manifest):
    #     """Once per load: read your parameters (scales, a vocabulary) from manifest.preprocessing."""
    #
    # def preprocess(self, inputs):
    #     """The request's tensors (name -> numpy array, already checked) -> the graph's feed."""
    #     return inputs
    #
    # def postprocess(self, outputs, inputs):
    #     """The graph's outputs -> the answer's tensors (keep the manifest's names and datatypes)."""
    #     return outputs
    #
    # def encode_predict(self, outputs, request):
    #     """The friendly route's answer; the default is lepton_serving.friendly.encode."""
    #     return super().encode_predict(outputs, request)
'''


def write_function(root: Path, fn: ModelFunction, manifest: Manifest) -> Path:
    """functions/<name>/<package>/{__init__,handler,model}.py; returns the folder."""
    folder = root / "functions" / fn.name
    package = folder / fn.package
    package.mkdir(parents=True)
    cls = f"{pascal(fn.name)}Model"
    signature = "\n".join(f"  input  {s.name} {s.datatype} {s.shape}" for s in manifest.inputs) + "\n" + \
        "\n".join(f"  output {s.name} {s.datatype} {s.shape}" for s in manifest.outputs)
    names = [s.name for s in manifest.inputs]
    friendly = ('{"instances": [row, ...]}' if len(names) == 1 else
                "{\"inputs\": {" + ", ".join(f'"{n}": [...]' for n in names) + "}}")
    if manifest.tokenizer is not None:
        signature += "\n  or instead: input text BYTES [-1], one text per row, tokenized with tokenizer.json"
        friendly = '{"texts": ["...", ...]} (tokenized with the tokenizer.json that travels with the model)'
    elif string_input(manifest.inputs) is not None:
        friendly = '{"texts": ["...", ...]} (or {"instances": [...]})'
    labelled = (f", labelled with the manifest's {len(manifest.labels)} labels" if manifest.labels else
                f", each of {', '.join(manifest.output_labels)} labelled" if manifest.output_labels else "")
    (package / "__init__.py").write_text(f'"""The {fn.name} model function (written by `lepton add`)."""\n')
    (package / "handler.py").write_text(HANDLER.format(name=fn.name, package=fn.package, cls=cls))
    (package / "model.py").write_text(MODEL.format(name=fn.name, cls=cls, signature=signature,
                                                   friendly=friendly, labelled=labelled))
    return folder


def remove_function(root: Path, name: str) -> bool:
    folder = root / "functions" / name
    if not folder.is_dir():
        return False
    shutil.rmtree(folder)
    return True
