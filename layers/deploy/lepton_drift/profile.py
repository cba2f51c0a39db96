"""The reference profile: what a model's features looked like on the data it is compared with.

Training writes one beside the model (``reference.json``, computed on the training split, its
sha256 pinned in the manifest); `lepton add --reference` writes one from the user's data; a model
with neither gets one from its first captured window (baseline.py). The drift check compares live
features with it, so it holds, per feature:

- numeric: the interior edges of its quantile bins, each bin's count, a sample of the values (for
  the Kolmogorov-Smirnov test) and a summary (mean, std, min, max);
- categorical: each category's count.

A profile is JSON (``"lepton_reference": 1`` marks it), a few KB to a few hundred:

    {"lepton_reference": 1, "model": "tabular", "family": "tabular", "source": "training",
     "description": "...", "rows": 455, "created_at": "...", "bins": 10, "context": {},
     "features": [{"name": "worst radius", "kind": "numeric", "role": "input", "count": 455,
                   "edges": [...], "counts": [...], "sample": [...], "summary": {...}}, ...]}
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import stats
from .errors import ProfileError
from .features import CATEGORICAL, NUMERIC, Extractor, Feature

SCHEMA = 1
#: Quantile bins per numeric feature: about ROWS_PER_BIN reference rows each, from MIN_BINS to
#: MAX_BINS (fewer when values repeat). A bin's reference share is then known to within about a
#: tenth of itself, and a small reference does not turn its own sampling noise into "drift".
MAX_BINS = 10
MIN_BINS = 5
ROWS_PER_BIN = 100
#: Values kept per numeric feature for the two-sample test.
SAMPLE_SIZE = 2000
#: The most a profile may be: anything larger is refused unread.
MAX_PROFILE_BYTES = 8 * 1024 * 1024

#: Where a profile's data came from.
TRAINING = "training"
REFERENCE_DATA = "reference data"
FIRST_WINDOW = "first captured window"
SOURCES = (TRAINING, REFERENCE_DATA, FIRST_WINDOW)


@dataclass
class FeatureProfile:
    """One feature of the reference: its bins and counts (numeric) or its categories' counts."""

    name: str
    kind: str
    role: str
    count: int
    counts: list[int]
    edges: list[float] = field(default_factory=list)  # numeric: interior bin edges
    categories: list[str] = field(default_factory=list)  # categorical
    sample: list[float] = field(default_factory=list)  # numeric: values for the two-sample test
    summary: dict[str, float] = field(default_factory=dict)
    description: str = ""

    @property
    def bins(self) -> int:
        return len(self.counts)

    def proportions(self) -> np.ndarray:
        return stats.proportions(np.asarray(self.counts, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "role": self.role, "count": self.count,
                                "counts": self.counts, "description": self.description}
        if self.kind == NUMERIC:
            data.update(edges=self.edges, sample=self.sample, summary=self.summary)
        else:
            data["categories"] = self.categories
        return data

    @classmethod
    def from_dict(cls, data: Any) -> FeatureProfile:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ProfileError("each profile feature needs a name")
        name = data["name"]
        kind, role, count, counts = data.get("kind"), data.get("role"), data.get("count"), data.get("counts")
        if kind not in (NUMERIC, CATEGORICAL) or role not in ("input", "prediction"):
            raise ProfileError(f"feature '{name}': kind must be numeric or categorical, role input or prediction")
        if type(count) is not int or count < 0 or not _whole_numbers(counts) or sum(counts) != count:
            raise ProfileError(f"feature '{name}': counts must be whole numbers adding up to count")
        edges, categories = data.get("edges", []), data.get("categories", [])
        sample = data.get("sample", [])
        if kind == NUMERIC:
            if not _finite_numbers(edges) or len(counts) != len(edges) + 1 or edges != sorted(edges):
                raise ProfileError(f"feature '{name}': a numeric feature needs sorted edges, one fewer than its counts")
            if not _finite_numbers(sample):
                raise ProfileError(f"feature '{name}': sample must be finite numbers")
        elif not (isinstance(categories, list) and all(isinstance(c, str) for c in categories)
                  and len(categories) == len(counts) and len(set(categories)) == len(categories)):
            raise ProfileError(f"feature '{name}': a categorical feature needs distinct categories, one count each")
        summary = data.get("summary", {})
        if not isinstance(summary, dict) or not all(isinstance(v, (int, float)) for v in summary.values()):
            raise ProfileError(f"feature '{name}': summary must map names to numbers")
        return cls(name, kind, role, count, list(counts), [float(e) for e in edges], list(categories),
                   [float(v) for v in sample], {k: float(v) for k, v in summary.items()},
                   str(data.get("description", "")))


@dataclass
class ReferenceProfile:
    """A model's reference: where it came from, how many rows, its features."""

    model: str
    source: str
    rows: int
    features: list[FeatureProfile]
    family: str = ""
    description: str = ""
    created_at: str = ""
    bins: int = MAX_BINS
    context: dict[str, Any] = field(default_factory=dict)
    #: a first-window baseline's captured span: {"start": ..., "end": ...} (ISO 8601, UTC)
    window: dict[str, str] = field(default_factory=dict)
    schema: int = SCHEMA

    def feature(self, name: str) -> FeatureProfile | None:
        return next((f for f in self.features if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"lepton_reference": self.schema, "model": self.model, "family": self.family, "source": self.source,
                "description": self.description, "rows": self.rows, "created_at": self.created_at, "bins": self.bins,
                "context": self.context, **({"window": self.window} if self.window else {}),
                "features": [f.to_dict() for f in self.features]}

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> ReferenceProfile:
        if not isinstance(data, dict) or data.get("lepton_reference") != SCHEMA:
            raise ProfileError(f"not a reference profile of schema {SCHEMA} ('lepton_reference': {SCHEMA})")
        model, source, rows = data.get("model"), data.get("source"), data.get("rows")
        if not isinstance(model, str) or source not in SOURCES or type(rows) is not int or rows < 1:
            raise ProfileError(f"a profile needs model, source (one of {', '.join(SOURCES)}) and rows (1 or more)")
        features = data.get("features")
        context = data.get("context", {})
        if not isinstance(features, list) or not features or not isinstance(context, dict):
            raise ProfileError("a profile needs a non-empty list of features and a context object")
        parsed = [FeatureProfile.from_dict(f) for f in features]
        if len({f.name for f in parsed}) != len(parsed):
            raise ProfileError("a profile's feature names must be distinct")
        bins = data.get("bins", MAX_BINS)
        if type(bins) is not int or not 2 <= bins <= 100:
            raise ProfileError("bins must be a whole number from 2 to 100")
        window = data.get("window", {})
        if not isinstance(window, dict) or not all(isinstance(v, str) for v in window.values()):
            raise ProfileError("window must map start and end to times")
        return cls(model, source, rows, parsed, str(data.get("family", "")), str(data.get("description", "")),
                   str(data.get("created_at", "")), bins, context, dict(window))

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "the reference profile") -> ReferenceProfile:
        if len(data) > MAX_PROFILE_BYTES:
            raise ProfileError(f"{where} is {len(data):,} bytes; a profile may be at most {MAX_PROFILE_BYTES:,}")
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise ProfileError(f"{where} is not JSON: {exc}") from exc
        try:
            return cls.from_dict(document)
        except ProfileError as exc:
            raise ProfileError(f"{where}: {exc.message}") from exc


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bins_for(rows: int) -> int:
    """How many quantile bins a reference of ``rows`` rows gets (see MAX_BINS)."""
    return min(MAX_BINS, max(MIN_BINS, rows // ROWS_PER_BIN))


def profile_feature(feature: Feature, values: np.ndarray, bins: int = MAX_BINS, sample_size: int = SAMPLE_SIZE,
                    seed: int = 0) -> FeatureProfile:
    """One feature's profile from its values (NaN and empty values left out)."""
    if feature.kind == NUMERIC:
        numbers = np.asarray(values, dtype=np.float64)
        numbers = numbers[np.isfinite(numbers)]
        edges = stats.quantile_edges(numbers, bins)
        if numbers.size:  # an edge at the minimum would leave the lowest bin empty in the reference
            edges = edges[edges > numbers.min()]
        counts = stats.bin_counts(numbers, edges)
        rng = np.random.default_rng(seed)
        sample = numbers if numbers.size <= sample_size else rng.choice(numbers, sample_size, replace=False)
        sample = sample if sample_size > 0 else numbers[:0]
        summary = ({"mean": float(numbers.mean()), "std": float(numbers.std()), "min": float(numbers.min()),
                    "max": float(numbers.max())} if numbers.size else {})
        return FeatureProfile(feature.name, feature.kind, feature.role, int(numbers.size), counts.tolist(),
                              [_round(e) for e in edges.tolist()], [], [_round(v) for v in sample.tolist()],
                              summary, feature.description)
    labels = [str(v) for v in np.asarray(values, dtype=object).reshape(-1).tolist() if v is not None]
    found = sorted(set(labels) - set(feature.categories))
    categories = list(feature.categories) + found
    index = {c: i for i, c in enumerate(categories)}
    counts = np.bincount([index[v] for v in labels], minlength=len(categories)).astype(int)
    return FeatureProfile(feature.name, feature.kind, feature.role, len(labels), counts.tolist(), [], categories,
                          description=feature.description)


def build_profile(extractor: Extractor, columns: Mapping[str, np.ndarray], *, model: str, source: str,
                  family: str = "", description: str = "", created_at: str = "", bins: int | None = None,
                  seed: int = 0, window: Mapping[str, str] | None = None,
                  sample_size: int = SAMPLE_SIZE) -> ReferenceProfile:
    """A profile of ``columns`` (an extractor's output over the reference data); ``bins``:
    quantile bins per numeric feature (default: `bins_for` the number of rows); ``sample_size``:
    values kept per numeric feature for the two-sample test (0: counts only, and the check
    tests the bins' counts instead)."""
    rows = max((len(columns[f.name]) for f in extractor.features), default=0)
    if rows < 1:
        raise ProfileError(f"{model}: no rows to build a reference profile from")
    bins = bins or bins_for(rows)
    features = [profile_feature(f, columns[f.name], bins, sample_size, seed + i)
                for i, f in enumerate(extractor.features)]
    return ReferenceProfile(model, source, rows, features, family, description, created_at, bins,
                            dict(extractor.context), dict(window or {}))


def _round(value: float) -> float:
    """Seven significant digits: float32's precision, and half the JSON."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, 6 - int(math.floor(math.log10(abs(value)))))


def _whole_numbers(values: Any) -> bool:
    return isinstance(values, list) and all(type(v) is int and v >= 0 for v in values)


def _finite_numbers(values: Any) -> bool:
    return isinstance(values, list) and all(type(v) in (int, float) and math.isfinite(v) for v in values)
