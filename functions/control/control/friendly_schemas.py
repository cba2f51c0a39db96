"""Each model's friendly route's request schema, from its live manifest.

A family's function reads its own JSON shape (docs/models.md); a model added with `lepton add`
reads the generic rows of its signature (lepton_serving/friendly.py). The schema here says
what that route accepts: where JSON Schema can say it, a request valid by it is answered, and
Schemathesis holds the API to that (tests/fuzz). What it cannot say is written in the
description: that a base64 string is a PNG, that column lists have the same length, how many
rows an embedding table has. The limits (rows per request, text length, k) are the model
classes' own; tests/control/test_friendly_schemas.py checks they agree.
"""
from __future__ import annotations

from typing import Any

from lepton_serving.manifest import Manifest, TensorSpec

#: Rows per request of each family's function (its Model.max_batch); the generic Model's otherwise.
MAX_ROWS = {"digits": 32}
DEFAULT_MAX_ROWS = 64
MAX_TEXT = 5000  # sentiment's MAX_CHARACTERS
RECOMMENDER_MAX_K = 100
SEED_MAX = 2**63 - 1

# Where each float datatype overflows: a JSON number this large or larger rounds to infinity in
# it (the midpoint between its largest finite value and the next power of two) and is refused.
_FLOAT_LIMIT = {"FP16": 65520.0, "FP32": 3.4028235677973366e38}
_INT_RANGE = {"INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1), "INT32": (-(2**31), 2**31 - 1),
              "INT64": (-(2**63), 2**63 - 1), "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1),
              "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1)}
# A word, as sentiment's tokenizer splits text: anything but ASCII whitespace and punctuation.
_WORD = r"[^\t\n\x0b\x0c\r !-/:-@\[-`{-~]"


def friendly_schema(name: str, manifest: Manifest | None) -> dict[str, Any]:
    """The JSON Schema of ``name``'s friendly request body (``manifest``: its live version's)."""
    family = manifest.family if manifest is not None and manifest.family else name
    build = _FAMILIES.get(family)
    if build is not None and manifest is not None:
        return build(manifest)
    if manifest is not None:
        return generic(manifest.inputs, MAX_ROWS.get(name, DEFAULT_MAX_ROWS))
    return {"type": "object", "description": f"No version of '{name}' is live: its form follows its signature "
                                             "(docs/models.md)."}


def value(spec: TensorSpec) -> dict[str, Any]:
    """One element of ``spec``'s datatype, as JSON: a number in its range, a bool, a string."""
    if spec.datatype in _FLOAT_LIMIT:
        top = _FLOAT_LIMIT[spec.datatype]
        return {"type": "number", "exclusiveMinimum": -top, "exclusiveMaximum": top}
    if spec.datatype == "FP64":
        return {"type": "number"}
    if spec.datatype in _INT_RANGE:
        low, high = _INT_RANGE[spec.datatype]
        return {"type": "integer", "minimum": low, "maximum": high}
    if spec.datatype == "BOOL":
        return {"type": "boolean"}
    return {"type": "string"}


def row(spec: TensorSpec, leaf: dict[str, Any] | None = None) -> dict[str, Any]:
    """One batch entry of ``spec``: nested lists of its fixed dimensions (a free one: any length)."""
    schema = leaf or value(spec)
    for size in reversed(spec.shape[1:]):
        schema = {"type": "array", "items": schema,
                  **({"minItems": size, "maxItems": size} if size >= 0 else {"minItems": 1})}
    return schema


def rows(schema: dict[str, Any], most: int) -> dict[str, Any]:
    return {"type": "array", "items": schema, "minItems": 1, "maxItems": most}


def generic(specs: list[TensorSpec], most: int = DEFAULT_MAX_ROWS) -> dict[str, Any]:
    """The generic Model's forms: {"instances": [row, ...]} for one input; for several, rows as
    objects of every input (the columns form, {"inputs": {name: rows}}, needs lists of one
    length, which JSON Schema cannot say)."""
    if len(specs) == 1:
        return {"type": "object", "required": ["instances"], "properties": {"instances": rows(row(specs[0]), most)}}
    instance = {"type": "object", "required": [s.name for s in specs], "properties": {s.name: row(s) for s in specs}}
    return {"type": "object", "required": ["instances"], "properties": {"instances": rows(instance, most)},
            "description": 'Also {"inputs": {"<name>": [rows], ...}}, every list one row per instance.'}


def tabular(manifest: Manifest) -> dict[str, Any]:
    spec = manifest.inputs[0]
    names = manifest.preprocessing.get("feature_names") or []
    forms = [row(spec)]
    if names:
        forms.append({"type": "object", "required": list(names), "properties": {n: value(spec) for n in names}})
    return {"type": "object", "required": ["instances"],
            "properties": {"instances": rows({"anyOf": forms} if len(forms) > 1 else forms[0], DEFAULT_MAX_ROWS)}}


def digits(manifest: Manifest) -> dict[str, Any]:
    prep, classes = manifest.preprocessing, len(manifest.labels or range(10))
    height, width, top = int(prep.get("height", 8)), int(prep.get("width", 8)), float(prep.get("max_value", 16.0))
    pixel = {"type": "number", "minimum": 0, "maximum": top}
    grid = {"type": "array", "minItems": height, "maxItems": height,
            "items": {"type": "array", "minItems": width, "maxItems": width, "items": pixel}}
    image = {"type": "string", "minLength": 1, "contentEncoding": "base64", "contentMediaType": "image/png",
             "description": "A PNG or JPEG file, base64-encoded (a data: URL too), at most 1 MB"}
    most = MAX_ROWS["digits"]
    return _one_of({"image": image, "images": rows(image, most), "pixels": grid, "instances": rows(grid, most)},
                   {"k": {"type": "integer", "minimum": 1, "maximum": classes}})


def sentiment(manifest: Manifest) -> dict[str, Any]:
    text = {"type": "string", "maxLength": MAX_TEXT, "pattern": _WORD,
            "description": "At least one word: not only spaces and punctuation"}
    return _one_of({"text": text, "texts": rows(text, DEFAULT_MAX_ROWS)})


def recommender(manifest: Manifest) -> dict[str, Any]:
    users, items = int(manifest.preprocessing["num_users"]), int(manifest.preprocessing["num_items"])
    user = {"type": "integer", "minimum": 0, "maximum": users - 1}
    item = {"type": "integer", "minimum": 0, "maximum": items - 1}
    return _one_of({"user_id": user, "user_ids": rows(user, DEFAULT_MAX_ROWS)},
                   {"k": {"type": "integer", "minimum": 1, "maximum": min(RECOMMENDER_MAX_K, items)},
                    "exclude": {"type": "array", "items": item}})


def generator(manifest: Manifest) -> dict[str, Any]:
    classes = int(manifest.preprocessing["num_classes"])
    return {"type": "object", "required": ["digit"], "additionalProperties": False, "properties": {
        "digit": {"type": "integer", "minimum": 0, "maximum": classes - 1},
        "count": {"type": "integer", "minimum": 1, "maximum": DEFAULT_MAX_ROWS},
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": SEED_MAX,
                 "description": "The same seed gives the same images; absent or null: a random one, returned"}}}


def _one_of(forms: dict[str, dict[str, Any]], options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Exactly one of ``forms`` (the function refuses two), with the shared ``options``."""
    branches = [{"required": [key], "properties": {key: schema, **(options or {})},
                 **({"not": {"anyOf": [{"required": [o]} for o in forms if o != key]}} if len(forms) > 1 else {})}
                for key, schema in forms.items()]
    return {"type": "object", "oneOf": branches}


_FAMILIES = {"tabular": tabular, "digits": digits, "sentiment": sentiment, "recommender": recommender,
             "generator": generator}
