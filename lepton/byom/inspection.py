"""Read an ONNX file and judge it by the deployer's own admission policy, with hints on how to fix.

The checks themselves live once, in lepton_deploy.admission: the gate applies the same ones to
every upload, so a file refused here would be refused there for the same reason, and a file
admitted here is admitted there. What this module adds is `lepton add`'s side: the file on disk,
the size budget of the template's deployer, a hint for each refusal, and one fix it may make
with the user's consent: a StringNormalizer whose locale Lambda lacks gets one it has.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import onnx
from lepton_deploy import admission
from lepton_deploy.admission import GraphTensor as Tensor  # noqa: F401 - the name golden.py and tests use
from lepton_deploy.admission import Refusal

from .errors import Refused

ZIPMAP_FIX = ('export without ZipMap so the probabilities are one tensor: skl2onnx.to_onnx(model, X, '
              'options={"zipmap": False}) (for a pipeline, options={id(classifier): {"zipmap": False}})')
LOCALE_FIX = (f'export with a locale Lambda has: skl2onnx.to_onnx(pipeline, ..., options={{id(vectorizer): '
              f'{{"locale": "{admission.SERVED_LOCALE}"}}}}) (for a TfidfVectorizer or CountVectorizer), or let '
              f'`lepton add` rewrite it: add --fix-locale (the model then lower-cases in {admission.SERVED_LOCALE})')

#: What to do about each refusal, by its cause (admission.Refusal.cause).
HINTS = {
    "onnx_parse": "export the model to ONNX first (skl2onnx, torch.onnx.export, Keras model.export)",
    "external_data": "save one self-contained file: onnx.save_model(onnx.load('model.onnx'), 'single.onnx', "
                     "save_as_external_data=False) (possible below 2 GB)",
    "empty_signature": "export a graph that takes at least one input and returns at least one output",
    "zipmap": ZIPMAP_FIX,
    "not_tensor": "make every graph input and output a dense tensor",
    "datatype": "add a Cast node to a type it has (FLOAT for the float8/bfloat16 family), or re-export",
    "shape": "export with input and output shapes (dynamic axes are fine)",
    "locale": LOCALE_FIX,
    "onnx_checker": "re-export it with a current exporter and opset",
    "operator": "export with operators onnxruntime implements (the ONNX standard ones, or its contrib ops); "
                "a custom operator library cannot be loaded by the served onnxruntime",
    "load": "re-export it with an opset this onnxruntime supports",
}


@dataclass(frozen=True)
class OnnxModel:
    """An admitted file: what `lepton add` prints and writes (the bytes, after any fix it made)."""

    path: Path
    data: bytes = field(repr=False)
    sha256: str
    ir_version: int
    opsets: dict[str, int]
    producer: str
    inputs: list[admission.GraphTensor]
    outputs: list[admission.GraphTensor]
    fixes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> list[str]:
        opsets = ", ".join(f"{d or 'ai.onnx'} {v}" for d, v in sorted(self.opsets.items()))
        return [f"file      {self.path.name}, {self.size:,} bytes, sha256 {self.sha256[:12]}…",
                f"producer  {self.producer or 'unknown'}; IR {self.ir_version}; opsets {opsets}",
                *(f"input     {t.describe()}" for t in self.inputs),
                *(f"output    {t.describe()}" for t in self.outputs),
                *(f"fixed     {fix}" for fix in self.fixes)]


def inspect_model(path: Path, max_bytes: int, fix_locale: bool = False) -> OnnxModel:
    """The file's facts, or Refused with the first reason it cannot be served and what to do."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"there is no file {path}", "pass the path of an .onnx file: --model model.onnx")
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(f"{path.name} is {size:,} bytes; a model function's budget is {max_bytes:,} bytes "
                      "(LEPTON_MAX_MODEL_BYTES of the deployer in template.yaml)",
                      "make it smaller (onnxruntime.quantization.quantize_dynamic often halves it) or raise "
                      "LEPTON_MAX_MODEL_BYTES and the function's memory")
    data = path.read_bytes()
    fixes: tuple[str, ...] = ()
    if fix_locale:
        data, fixes = served_locales(data)
    try:
        admitted = admission.admit(data)
    except Refusal as exc:
        raise refused(exc) from exc
    return OnnxModel(path, data, admitted.sha256, admitted.ir_version, admitted.opsets, admitted.producer,
                     admitted.inputs, admitted.outputs, fixes=fixes)


def refused(exc: Refusal) -> Refused:
    """The admission's refusal as `lepton add` says it: the same reason, and what to do."""
    return Refused(exc.reason, HINTS.get(exc.cause, HINTS.get(exc.check, "")))


def served_locales(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The model with every locale Lambda lacks replaced by one it has, and what was changed
    (nothing, and the same bytes, when every locale is one Lambda has)."""
    try:
        model = admission.parse(data)
    except Refusal as exc:
        raise refused(exc) from exc
    uses = [u for u in admission.locale_uses(model) if not admission.lambda_has_locale(u.locale)]
    if not uses:
        return data, ()
    for node in admission.nodes(model):
        attribute = admission.LOCALE_OPERATORS.get((node.domain, node.op_type))
        if attribute is None:
            continue
        named = next((a for a in node.attribute if a.name == attribute), None)
        locale = named.s.decode("utf-8", "replace") if named is not None else admission.ORT_DEFAULT_LOCALE
        if admission.lambda_has_locale(locale):
            continue
        if named is not None:
            node.attribute.remove(named)
        node.attribute.append(onnx.helper.make_attribute(attribute, admission.SERVED_LOCALE))
    return model.SerializeToString(), tuple(f"{u.op_type} '{u.node}': locale {u.locale} -> "
                                            f"{admission.SERVED_LOCALE} (--fix-locale)" for u in uses)
