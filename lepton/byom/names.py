"""The rules for a new model's name, and everything the name becomes.

A name is a URL segment (/v2/models/<name>), an S3 prefix (models/<name>/), the function's
folder and Python package (functions/<name>/<package>/handler.py) and a template logical id
(<Name>Function), so it must fit all of them and clash with none of what is already there.
"""
from __future__ import annotations

import importlib.util
import keyword
import re
from pathlib import Path

from .errors import Refused
from .template_edit import ModelFunction, TemplateFile

MAX_LENGTH = 40  # CloudFormation cuts generated function names at 64 characters: keep this one readable
_ALLOWED = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def model_function(name: str, memory_mb: int = 1024) -> ModelFunction:
    return ModelFunction(name=name, logical_id=f"{pascal(name)}Function", package=name.replace("-", "_"),
                         memory_parameter=f"{pascal(name)}Memory", memory_mb=memory_mb)


def check_form(name: str) -> None:
    """The name alone: lower-case letters, digits and single hyphens, a letter first, not too long."""
    if not name:
        raise Refused("the model needs a name", "e.g. `lepton add churn --model churn.onnx`")
    if len(name) > MAX_LENGTH:
        raise Refused(f"the name '{name}' has {len(name)} characters; the most is {MAX_LENGTH}",
                      "pick a shorter name")
    if name != name.lower() and _ALLOWED.match(name.lower()):
        raise Refused(f"the name '{name}' has upper-case letters; model names are lower-case (they become "
                      "URL paths and S3 prefixes)", f"use '{name.lower()}'")
    if not _ALLOWED.match(name):
        raise Refused(f"the name '{name}' is not a model name: use lower-case letters, digits and single "
                      "hyphens, starting with a letter and not ending with a hyphen", "e.g. churn or churn-v2")
    package = name.replace("-", "_")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise Refused(f"the name '{name}' is a Python keyword, and it names the function's package",
                      f"pick another name, e.g. {name}-model")


def check_new(name: str, root: Path, template: TemplateFile, memory_mb: int) -> ModelFunction:
    """The name for a model that is not there yet; every clash is refused before anything is written."""
    check_form(name)
    if not 128 <= memory_mb <= 10240:
        raise Refused(f"--memory {memory_mb} is outside Lambda's range", "give 128 to 10240 (MB)")
    fn = model_function(name, memory_mb)
    served = template.model_functions()
    if name in served.values():
        owner = next(lid for lid, model in served.items() if model == name)
        raise Refused(f"a model named '{name}' is already served by {owner} in template.yaml",
                      f"pick another name, or `lepton remove {name}` first")
    if fn.logical_id in template.resources:
        raise Refused(f"template.yaml already has a resource {fn.logical_id}", "pick another name")
    if fn.memory_parameter in template.parameters():
        raise Refused(f"template.yaml already has a parameter {fn.memory_parameter}", "pick another name")
    folder = root / "functions" / name
    if folder.exists():
        raise Refused(f"{folder.relative_to(root)}/ already exists", "pick another name, or move that folder away")
    taken = template.routes()
    clashes = [f"{method} {path}" for _, method, path in fn.routes() if (method, path) in taken]
    if clashes:
        raise Refused(f"the routes of '{name}' are taken: {', '.join(clashes)}", "pick another name")
    if importlib.util.find_spec(fn.package) is not None:
        # In Lambda the function's own folder comes first on sys.path: it would hide that package.
        raise Refused(f"the name '{name}' would make a Python package '{fn.package}', which already exists "
                      "(the function would hide it, or be hidden by it)", f"pick another name, e.g. {name}-model")
    return fn
