"""Admission: what a model file must be for the served onnxruntime to load and run it in Lambda.

One policy, two doors. The deployer's gate judges every upload with it, and `lepton add` judges a
file with it before writing anything (adding only its hints on how to fix). Both get the same
`Refusal` for the same file: its ``check`` (the gate records it), its ``reason`` and its
``cause`` (what `lepton add` looks its hint up by).

What is decided here, in this order, so each fault is reported by the check that names it:

1. ``onnx_parse``: the bytes are an ONNX protobuf with a graph;
2. ``external_data``: no tensor anywhere (graphs, subgraphs, function bodies, sparse values and
   indices, attributes) keeps its bytes in another file: a function has one file;
3. ``io_types``: every graph input and output is a dense tensor of a datatype the V2 protocol
   carries, with a declared shape;
4. ``locale``: every locale a node depends on (``StringNormalizer``) exists in Lambda's python3.12
   runtime, whatever this machine has (`LAMBDA_LOCALES`);
5. ``onnx_checker``: the ONNX checker, full check;
6. ``graph_signature``: the graph is the one its manifest describes (when there is a manifest);
7. ``load``: the served onnxruntime creates a session. That, not a list of operator domains,
   decides which operators are served: onnxruntime's contrib operators (``com.microsoft``, such as
   skl2onnx's ``Tokenizer``) load, a custom domain it does not implement does not.

Beside the model, the files a manifest pins are judged here too: ``tokenizer`` (`check_tokenizer`)
and ``reference``, the reference profile drift is measured against (`check_reference`: the pinned
bytes, a profile lepton_drift reads, of this model's own features).

Pure: bytes (and a manifest) in, facts or a `Refusal` out. Nothing here reads S3 or a file.
"""
from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from lepton_drift.errors import ProfileError
from lepton_drift.profile import ReferenceProfile
from lepton_drift.reference import verify_reference
from lepton_serving.errors import LeptonError, ModelIntegrityError
from lepton_serving.manifest import NUMPY_TO_V2, REFERENCE_FILE, TOKENIZER_FILE, V2_TO_NUMPY, Manifest, TensorSpec
from lepton_serving.session import create_session
from lepton_serving.store import sha256_hex
from lepton_serving.text import TEXT, TokenizedInput

from .errors import Rejected

if TYPE_CHECKING:
    import onnxruntime

#: The locales Lambda's python3.12 runtime has. It runs on the Amazon Linux 2023 minimal image,
#: whose glibc-minimal-langpack holds C, C.UTF-8 and POSIX only: en_US.UTF-8 and every other
#: named locale are missing there (docs/models.md says where this comes from).
LAMBDA_LOCALES = ("C", "C.UTF-8", "POSIX")
#: The locale `lepton add --fix-locale` writes: Lambda has it, and it maps case over all of Unicode.
SERVED_LOCALE = "C.UTF-8"
#: onnxruntime's StringNormalizer uses this locale on Linux when the node names none.
ORT_DEFAULT_LOCALE = "en_US.UTF-8"
#: Operators whose behaviour depends on a locale, and the attribute that names it.
LOCALE_OPERATORS = {("", "StringNormalizer"): "locale", ("ai.onnx", "StringNormalizer"): "locale"}


class Refusal(Rejected):
    """A model that cannot be served: ``check`` names the rule, ``cause`` the fault within it
    (``zipmap``, ``datatype``, ...), ``details`` what the fix needs (the nodes, the locale)."""

    def __init__(self, check: str, reason: str, cause: str = "", **details: Any):
        super().__init__(check, reason)
        self.reason = reason
        self.cause = cause or check
        self.details = details


@dataclass(frozen=True)
class GraphTensor:
    """One graph input or output: its V2 datatype and its dimensions as declared, names kept."""

    name: str
    datatype: str
    dims: tuple[int | str, ...]  # a size, a dimension's name (batch_size, sequence) or "?"

    @property
    def spec(self) -> TensorSpec:
        """What the manifest and the V2 metadata say: -1 for every dimension that is not fixed."""
        return TensorSpec(self.name, self.datatype, [d if isinstance(d, int) else -1 for d in self.dims])

    def describe(self) -> str:
        return f"{self.name} {self.datatype} [{', '.join(str(d) for d in self.dims)}]"


@dataclass(frozen=True)
class LocaleUse:
    """A node whose behaviour depends on a locale, and the locale it asks for."""

    node: str
    op_type: str
    locale: str
    declared: bool  # False: the node names none, and onnxruntime's default applies


@dataclass
class Admitted:
    """A model the served onnxruntime loads: its facts and the session admission created."""

    data: bytes = field(repr=False)
    sha256: str
    ir_version: int
    opsets: dict[str, int]
    producer: str
    inputs: list[GraphTensor]
    outputs: list[GraphTensor]
    session: onnxruntime.InferenceSession = field(repr=False)
    load_ms: float

    @property
    def size(self) -> int:
        return len(self.data)


def admit(data: bytes, manifest: Manifest | None = None,
          stage: Callable[[str], AbstractContextManager[Any]] = lambda _: nullcontext()) -> Admitted:
    """Every check on the file, in order; the first that fails raises its Refusal. ``stage``
    times the three stages (the gate records them): integrity, checker, load. A reason names
    the model as "the model": each door knows which file or version that is."""
    with stage("integrity"):
        model = parse(data)
        check_external_data(model)
        inputs, outputs = graph_tensors(model)
        check_locales(model)
    with stage("checker"):
        check_onnx(model)
        if manifest is not None:
            check_graph_signature(manifest, inputs, outputs)
    with stage("load"):
        started = time.perf_counter()
        session = load(data)
        load_ms = (time.perf_counter() - started) * 1000.0
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return Admitted(data, hashlib.sha256(data).hexdigest(), model.ir_version,
                    {imp.domain: imp.version for imp in model.opset_import}, producer, inputs, outputs, session,
                    load_ms)


def runtime_version() -> str:
    """The onnxruntime that admits models: the shared layer's, the one the model functions run."""
    import onnxruntime

    return str(onnxruntime.__version__)


# -- the checks, each usable alone ------------------------------------------------------------------
def parse(data: bytes) -> onnx.ModelProto:
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends: not an ONNX file
        raise Refusal("onnx_parse", f"the file is not an ONNX model (it does not parse as an ONNX protobuf: "
                                    f"{type(exc).__name__})") from exc
    if not model.graph.node and not model.graph.output:
        raise Refusal("onnx_parse", "the file decodes to an empty ONNX graph")
    return model


def check_external_data(model: onnx.ModelProto) -> None:
    external = [t for t in tensors(model) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        files = sorted({e.value for t in external for e in t.external_data if e.key == "location"})
        raise Refusal("external_data", f"the model keeps weights in external file(s) {', '.join(files) or '(unnamed)'}; "
                                       "a model function loads one self-contained .onnx file", files=files)


def graph_tensors(model: onnx.ModelProto) -> tuple[list[GraphTensor], list[GraphTensor]]:
    """The graph's inputs (initializers excluded) and outputs, each a dense tensor V2 can carry."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [_tensor(v, "input") for v in model.graph.input if v.name not in initializers]
    outputs = [_tensor(v, "output") for v in model.graph.output]
    if not inputs or not outputs:
        raise Refusal("io_types", f"the model has {len(inputs)} input(s) and {len(outputs)} output(s); a model "
                                  "function needs at least one of each", "empty_signature")
    return inputs, outputs


def locale_uses(model: onnx.ModelProto) -> list[LocaleUse]:
    """Every node, in every graph and function body, whose behaviour depends on a locale."""
    found = []
    for node in nodes(model):
        attribute = LOCALE_OPERATORS.get((node.domain, node.op_type))
        if attribute is None:
            continue
        named = next((a.s.decode("utf-8", "replace") for a in node.attribute if a.name == attribute), None)
        found.append(LocaleUse(node.name or node.op_type, node.op_type, named or ORT_DEFAULT_LOCALE,
                               named is not None))
    return found


def lambda_has_locale(name: str) -> bool:
    return _locale_key(name) in {_locale_key(n) for n in LAMBDA_LOCALES}


def check_locales(model: onnx.ModelProto) -> None:
    missing = [use for use in locale_uses(model) if not lambda_has_locale(use.locale)]
    if missing:
        first = missing[0]
        how = f"locale '{first.locale}'" if first.declared else f"no locale, so onnxruntime uses '{first.locale}'"
        raise Refusal("locale", f"{first.op_type} node '{first.node}' names {how}, which Lambda's python3.12 runtime "
                                f"does not have (it has {', '.join(LAMBDA_LOCALES)}): onnxruntime would fail to "
                                "create the session there", uses=missing)


def check_onnx(model: onnx.ModelProto) -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0][:240] if str(exc).strip() else type(exc).__name__
        raise Refusal("onnx_checker", f"the ONNX checker refuses the model: {first}") from exc


def check_graph_signature(manifest: Manifest, inputs: list[GraphTensor], outputs: list[GraphTensor]) -> None:
    problems = (signature_diff("input", manifest.inputs, [t.spec for t in inputs])
                + signature_diff("output", manifest.outputs, [t.spec for t in outputs]))
    if problems:
        raise Refusal("graph_signature", f"the ONNX graph does not match its manifest: {'; '.join(problems)}")


def load(data: bytes) -> onnxruntime.InferenceSession:
    """A session of the served onnxruntime (the version in the layer, the same pin as here)."""
    try:
        return create_session(data, threads=1, where="the model")
    except ModelIntegrityError as exc:
        text = str(exc.__cause__ or exc)
        missing = _UNIMPLEMENTED.search(text)
        if missing:
            import onnxruntime

            domain, op = _unimplemented(missing)
            domain = domain or "ai.onnx"
            raise Refusal("load", f"onnxruntime {onnxruntime.__version__} does not implement operator {op} of domain "
                                  f"'{domain}', so it cannot load the model", "operator", operator=op,
                          domain=domain) from exc
        raise Refusal("load", exc.message) from exc


def check_tokenizer(manifest: Manifest, data: bytes | None) -> TokenizedInput:
    """The tokenizer.json the manifest pins: those bytes, a file the `tokenizers` library reads,
    fitting the graph's token inputs, and giving the golden examples' token ids from their texts."""
    pinned = manifest.tokenizer
    if pinned is None:
        raise Refusal("tokenizer", "the manifest pins no tokenizer")
    if data is None:
        raise Refusal("tokenizer", f"the manifest pins a {TOKENIZER_FILE}, and there is none beside the model",
                      "missing")
    actual = sha256_hex(data)
    if actual != pinned.sha256 or len(data) != pinned.size:
        raise Refusal("tokenizer", f"{TOKENIZER_FILE} has sha256 {actual[:16]}… ({len(data):,} bytes), the manifest "
                                   f"pins {pinned.sha256[:16]}… ({pinned.size:,} bytes)", "sha256")
    try:
        tokens = TokenizedInput.load(data, pinned, manifest.inputs)
    except ModelIntegrityError as exc:
        raise Refusal("tokenizer", exc.message, "unreadable") from exc
    for index, example in enumerate(manifest.golden):
        texts = next((t.get("data") for t in example.request or [] if t.get("name") == TEXT.name), None)
        if texts is None:
            continue
        try:
            feed = tokens.encode([str(t) for t in np.asarray(texts, dtype=object).ravel()]).feed
        except LeptonError as exc:
            raise Refusal("tokenizer", f"golden example {index}'s texts do not tokenize: {exc.message}",
                          "golden") from exc
        differ = [n for n, ids in feed.items() if n in example.inputs and not np.array_equal(
            ids, np.asarray(example.inputs[n], dtype=ids.dtype))]
        if differ:
            raise Refusal("tokenizer", f"{TOKENIZER_FILE} turns golden example {index}'s texts into other "
                                       f"{', '.join(differ)} than the manifest records: not the tokenizer the model "
                                       "was added with", "golden")
    return tokens


def check_reference(manifest: Manifest, data: bytes | None) -> ReferenceProfile:
    """The reference profile the manifest pins: those bytes, a profile lepton_drift reads, and one
    of this model's own features (the drift check reads it the same way, lepton_drift.reference)."""
    if manifest.reference is None:
        raise Refusal("reference", "the manifest pins no reference profile")
    if data is None:
        raise Refusal("reference", f"the manifest pins a {REFERENCE_FILE}, and there is none beside the model",
                      "missing")
    try:
        return verify_reference(data, manifest)[0]
    except ProfileError as exc:
        raise Refusal("reference", exc.message, "sha256" if "the manifest pins" in exc.message else "profile") from exc


def signature_diff(kind: str, expected: list[TensorSpec], actual: list[TensorSpec]) -> list[str]:
    """What differs between two signatures, in words (empty when they are the same)."""
    if [s.to_dict() for s in expected] == [s.to_dict() for s in actual]:
        return []
    want = {s.name: s for s in expected}
    have = {s.name: s for s in actual}
    problems = [f"{kind} '{n}' is missing" for n in want if n not in have]
    problems += [f"unexpected {kind} '{n}'" for n in have if n not in want]
    for name in (n for n in want if n in have):
        w, h = want[name], have[name]
        if (w.datatype, w.shape) != (h.datatype, h.shape):
            problems.append(f"{kind} '{name}' is {h.datatype} {h.shape}, expected {w.datatype} {w.shape}")
    return problems or [f"{kind}s are in a different order: {[s.name for s in actual]}, "
                        f"expected {[s.name for s in expected]}"]


def v2_datatype(elem_type: int) -> str | None:
    """ONNX element type -> V2 datatype (STRING is BYTES), None when V2 has no such type."""
    if elem_type == onnx.TensorProto.STRING:
        return "BYTES"
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None
    # ml_dtypes stand-ins (bfloat16, float8, int4) have numpy names V2 does not know.
    return None if dtype.kind == "O" else NUMPY_TO_V2.get(dtype.name)


# -- walking the whole model ----------------------------------------------------------------------
def graphs(model: onnx.ModelProto) -> Iterator[onnx.GraphProto]:
    """The main graph and every subgraph (If, Loop, Scan bodies), also inside function bodies."""
    yield from _subgraphs(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_subgraphs(node)


def nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    """Every node: of every graph and subgraph, and of every function body."""
    for graph in graphs(model):
        yield from graph.node
    for function in model.functions:
        yield from function.node


def tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every stored tensor: initializers, sparse initializers' values and indices, and tensor attributes."""
    for graph in graphs(model):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in nodes(model):
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.TENSOR:
                yield attribute.t
            elif attribute.type == onnx.AttributeProto.TENSORS:
                yield from attribute.tensors
            elif attribute.type == onnx.AttributeProto.SPARSE_TENSOR:
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices


def _subgraphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        yield from _node_subgraphs(node)


def _node_subgraphs(node: onnx.NodeProto) -> Iterator[onnx.GraphProto]:
    for attribute in node.attribute:
        if attribute.type == onnx.AttributeProto.GRAPH:
            yield from _subgraphs(attribute.g)
        elif attribute.type == onnx.AttributeProto.GRAPHS:
            for sub in attribute.graphs:
                yield from _subgraphs(sub)


# onnxruntime's words for an operator it has no kernel or schema for, in its two forms.
_UNIMPLEMENTED = re.compile(r"(?:Could not find an implementation for (?P<op>\w+)\(|"
                            r"(?P<domain>[\w.]+):(?P<op2>\w+)\(-?\d+\) is not a registered function/op)")


def _unimplemented(match: re.Match[str]) -> tuple[str, str]:
    return match.group("domain") or "", match.group("op") or match.group("op2")


def _tensor(value: onnx.ValueInfoProto, role: str) -> GraphTensor:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type":
        what = {"sequence_type": "a sequence", "map_type": "a map", "optional_type": "an optional",
                "sparse_tensor_type": "a sparse tensor"}.get(kind or "", "not a tensor")
        zipmap = kind == "sequence_type" and value.type.sequence_type.elem_type.WhichOneof("value") == "map_type"
        raise Refusal("io_types", f"{role} '{value.name}' is {what}"
                                  f"{' of maps (scikit-learn ZipMap)' if zipmap else ''}; the V2 protocol carries "
                                  "tensors only", "zipmap" if zipmap else "not_tensor", tensor=value.name)
    tensor = value.type.tensor_type
    datatype = v2_datatype(tensor.elem_type)
    if datatype is None:
        name = onnx.TensorProto.DataType.Name(tensor.elem_type)
        raise Refusal("io_types", f"{role} '{value.name}' is {name}, which the V2 protocol cannot carry (it has "
                                  f"{', '.join(V2_TO_NUMPY)}; STRING travels as BYTES)", "datatype", tensor=value.name)
    if not tensor.HasField("shape"):
        raise Refusal("io_types", f"{role} '{value.name}' declares no shape, so requests cannot be checked",
                      "shape", tensor=value.name)
    dims = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim)
    return GraphTensor(value.name, datatype, dims)


def _locale_key(name: str) -> str:
    """glibc's normalisation: the codeset is compared lower-case without punctuation (C.UTF-8 = C.utf8)."""
    base, _, codeset = name.partition(".")
    return base + ("." + re.sub(r"[^0-9a-z]", "", codeset.lower()) if codeset else "")
