"""What drift is measured on: the features of a batch of requests, per model family.

An `Extractor` turns the tensors a model function took and gave (its V2 inputs, as a capture
records them, and its outputs) into one column per feature: numbers (NaN where a row has no
value, dropped later) or category names. Training computes the reference profile with the same
extractor on the training data, and the drift check on captured requests, so both sides are
measured the same way.

| family | input features | prediction features |
| --- | --- | --- |
| tabular | each named column (`preprocessing.feature_names`) | the predicted class |
| digits | of the 8x8 the model read: ink fraction, mean intensity, ink centroid (row, column) | the predicted class |
| sentiment | words per text, out-of-vocabulary rate (the manifest's own tokeniser) | the predicted class |
| recommender | known or unknown user (seen in training or not) | training popularity of the top 10 recommended items |
| generator | the requested digit, the latent vector's length | |
| any other model | per input: each column of a narrow table, else mean and spread of each row; text length | the predicted class (the first output with a score per class), each integer output's values, each number output's value, else its mean |
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from lepton_serving.manifest import Manifest, TensorSpec

from .errors import ProfileError

NUMERIC = "numeric"
CATEGORICAL = "categorical"
INPUT = "input"
PREDICTION = "prediction"

#: A numeric input at most this wide ([batch, k]) is a table: one feature per column.
MAX_TABLE_COLUMNS = 32
#: Cells at or above this share of the largest value count as ink (digits).
INK_LEVEL = 0.25
#: An output of at most this many scores per row, with no labels, is read as one score per class.
MAX_CLASSES = 100
#: How many recommended items the popularity feature looks at.
TOP_ITEMS = 10

Tensors = Mapping[str, np.ndarray]
Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Feature:
    """One measured quantity: numeric or categorical, of the inputs or of the predictions."""

    name: str
    kind: str
    role: str = INPUT
    #: a categorical feature's fixed categories (class labels, digits); empty: found in the data
    categories: tuple[str, ...] = ()
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "role": self.role, "categories": list(self.categories),
                "description": self.description}


class Extractor(ABC):
    """A model family's features, and how to read them from a batch of tensors."""

    features: tuple[Feature, ...]
    #: the tensors a batch must carry (inputs and outputs by name)
    needs: tuple[str, ...]

    @abstractmethod
    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        """One value per row of the batch for every feature (same order as the rows)."""

    @property
    def context(self) -> dict[str, Any]:
        """What the profile must carry for this extractor to be built again (e.g. training's users)."""
        return {}


# -- the families ---------------------------------------------------------------------------------
def _predicted(scores: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """The label of each row's highest score."""
    best = np.argmax(scores.reshape(scores.shape[0], -1), axis=1)
    return np.asarray(labels, dtype=object)[best]


def _prediction_feature(labels: Sequence[str]) -> Feature:
    return Feature("prediction", CATEGORICAL, PREDICTION, tuple(labels), "the predicted class")


class TableFeatures(Extractor):
    """A numeric table ([batch, k], k small): one feature per column; plus the predicted class."""

    def __init__(self, input_name: str, names: Sequence[str], output_name: str | None = None,
                 labels: Sequence[str] | None = None):
        self.input_name, self.names = input_name, list(names)
        self.output_name, self.labels = output_name, list(labels or [])
        features = [Feature(n, NUMERIC, description=f"column {i} of '{input_name}'") for i, n in enumerate(self.names)]
        if output_name and self.labels:
            features.append(_prediction_feature(self.labels))
        self.features = tuple(features)
        self.needs = (input_name,) + ((output_name,) if output_name and self.labels else ())

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        table = np.asarray(inputs[self.input_name], dtype=np.float64).reshape(-1, len(self.names))
        found = {name: table[:, i] for i, name in enumerate(self.names)}
        if self.output_name and self.labels:
            found["prediction"] = _predicted(outputs[self.output_name], self.labels)
        return found


class DigitFeatures(Extractor):
    """What an 8x8 digit looks like to the model (ink high, 0..max_value), and the predicted class."""

    def __init__(self, input_name: str, max_value: float, output_name: str, labels: Sequence[str]):
        self.input_name, self.max_value = input_name, float(max_value)
        self.output_name, self.labels = output_name, list(labels)
        self.features = (
            Feature("ink", NUMERIC, description=f"share of cells at {INK_LEVEL:.0%} of full ink or more"),
            Feature("intensity", NUMERIC, description="mean cell value over the largest (0 blank .. 1 all ink)"),
            Feature("centroid_row", NUMERIC, description="ink-weighted mean row (0 top)"),
            Feature("centroid_column", NUMERIC, description="ink-weighted mean column (0 left)"),
            _prediction_feature(self.labels),
        )
        self.needs = (input_name, output_name)

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        image = np.asarray(inputs[self.input_name], dtype=np.float64)
        rows = image.reshape(image.shape[0], -1, image.shape[-1]) / self.max_value
        total = rows.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):  # a blank image has no centroid: NaN
            centroid_row = (rows.sum(axis=2) * np.arange(rows.shape[1])).sum(axis=1) / total
            centroid_column = (rows.sum(axis=1) * np.arange(rows.shape[2])).sum(axis=1) / total
        return {
            "ink": (rows >= INK_LEVEL).mean(axis=(1, 2)),
            "intensity": rows.mean(axis=(1, 2)),
            "centroid_row": centroid_row,
            "centroid_column": centroid_column,
            "prediction": _predicted(outputs[self.output_name], self.labels),
        }


class TextFeatures(Extractor):
    """A text as the model's tokeniser reads it: how many words, how many unknown; the predicted class."""

    def __init__(self, input_name: str, tokenizer: Any, output_name: str, labels: Sequence[str]):
        self.input_name, self.tokenizer = input_name, tokenizer
        self.output_name, self.labels = output_name, list(labels)
        self.features = (
            Feature("words", NUMERIC, description="words in the text, as the tokeniser splits them"),
            Feature("oov_rate", NUMERIC, description="share of the words the vocabulary does not know"),
            _prediction_feature(self.labels),
        )
        self.needs = (input_name, output_name)

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                 for v in np.asarray(inputs[self.input_name], dtype=object).reshape(-1).tolist()]
        words, unknown = self.tokenizer.word_counts(texts)
        with np.errstate(invalid="ignore", divide="ignore"):  # no words: no rate
            rate = np.where(words > 0, unknown / np.maximum(words, 1), np.nan)
        return {"words": words.astype(np.float64), "oov_rate": rate.astype(np.float64),
                "prediction": _predicted(outputs[self.output_name], self.labels)}


class RecommenderFeatures(Extractor):
    """Who asks (users training saw, or not) and what comes back (how popular in training the
    top recommended items were, as a percentile: 1 = the most popular item)."""

    def __init__(self, input_name: str, output_name: str, known_users: Sequence[int], item_counts: Sequence[int]):
        self.input_name, self.output_name = input_name, output_name
        self.known_users = np.unique(np.asarray(known_users, dtype=np.int64))
        self.item_counts = np.asarray(item_counts, dtype=np.int64)
        # Each item's popularity percentile: the share of items with fewer training interactions.
        order = np.argsort(np.argsort(self.item_counts, kind="stable"), kind="stable")
        self.percentile = order / max(len(self.item_counts) - 1, 1)
        self.features = (
            Feature("user", CATEGORICAL, INPUT, ("known", "unknown"), "the user had training interactions, or not"),
            Feature("recommended_popularity", NUMERIC, PREDICTION,
                    description=f"mean training-popularity percentile of the top {TOP_ITEMS} items"),
        )
        self.needs = (input_name, output_name)

    @property
    def context(self) -> dict[str, Any]:
        return {"known_users": self.known_users.tolist(), "item_counts": self.item_counts.tolist()}

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        users = np.asarray(inputs[self.input_name], dtype=np.int64).reshape(-1)
        known = np.isin(users, self.known_users)
        scores = np.asarray(outputs[self.output_name], dtype=np.float64).reshape(users.size, -1)
        k = min(TOP_ITEMS, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.empty((users.size, 0), np.int64)
        in_range = top < self.percentile.size
        popularity = np.where(in_range, self.percentile[np.minimum(top, self.percentile.size - 1)], np.nan)
        return {"user": np.where(known, "known", "unknown").astype(object),
                "recommended_popularity": np.nanmean(popularity, axis=1) if k else np.full(users.size, np.nan)}


class GeneratorFeatures(Extractor):
    """What callers ask the generator for: which digit, and how long a latent vector (the sampler
    draws standard normals, so about 1 per dimension)."""

    def __init__(self, latent_name: str, label_name: str, num_classes: int):
        self.latent_name, self.label_name, self.num_classes = latent_name, label_name, num_classes
        self.features = (
            Feature("digit", CATEGORICAL, INPUT, tuple(str(d) for d in range(num_classes)), "the requested digit"),
            Feature("latent_norm", NUMERIC, INPUT, description="length of z over the square root of its size"),
        )
        self.needs = (latent_name, label_name)

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        labels = np.asarray(inputs[self.label_name], dtype=np.int64).reshape(-1)
        z = np.asarray(inputs[self.latent_name], dtype=np.float64).reshape(labels.size, -1)
        return {"digit": labels.astype(str).astype(object),
                "latent_norm": np.linalg.norm(z, axis=1) / math.sqrt(max(z.shape[1], 1))}


class GenericFeatures(Extractor):
    """Any model, from its signature: each input's columns (a narrow numeric table), or each row's
    mean and spread (images, sequences), or a text's length; of the outputs, the predicted class
    (the first with one score per class: per label, else 2 to MAX_CLASSES scores), an integer
    output's values (a class id), a number output's value, else each row's mean."""

    def __init__(self, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], labels: Sequence[str] | None,
                 names: Sequence[str] | None = None):
        self.plan: list[tuple[str, str, str, Any]] = []  # (feature, tensor, how, detail)
        features: list[Feature] = []
        for spec in inputs:
            width = spec.shape[1] if len(spec.shape) == 2 else None
            if spec.datatype == "BYTES":
                features.append(Feature(f"{spec.name}.length", NUMERIC, description=f"characters in '{spec.name}'"))
                self.plan.append((features[-1].name, spec.name, "length", None))
            elif len(spec.shape) <= 1 or (len(spec.shape) == 2 and spec.shape[1] == 1):
                features.append(Feature(spec.name, NUMERIC, description=f"the value of '{spec.name}'"))
                self.plan.append((spec.name, spec.name, "value", None))
            elif width is not None and 0 < width <= MAX_TABLE_COLUMNS:
                labels_of = list(names) if names is not None and len(names) == width and len(inputs) == 1 else [
                    f"{spec.name}[{i}]" for i in range(width)]
                for i, label in enumerate(labels_of):
                    features.append(Feature(label, NUMERIC, description=f"column {i} of '{spec.name}'"))
                    self.plan.append((label, spec.name, "column", i))
            else:
                for how in ("mean", "std"):
                    features.append(Feature(f"{spec.name}.{how}", NUMERIC, description=f"each row's {how} of '{spec.name}'"))
                    self.plan.append((features[-1].name, spec.name, how, None))
        scored = False  # the first output with one score per class gives "prediction"
        for spec in outputs:
            width = spec.shape[1] if len(spec.shape) == 2 else None
            classes = list(labels) if labels and width in (-1, len(labels)) else (
                [str(i) for i in range(width)] if width is not None and 2 <= width <= MAX_CLASSES else None)
            if spec.datatype == "BYTES":
                continue
            if not scored and classes and spec.datatype.startswith("FP"):
                scored = True
                features.append(_prediction_feature(classes))
                self.plan.append(("prediction", spec.name, "argmax", classes))
            elif len(spec.shape) <= 1 or (len(spec.shape) == 2 and spec.shape[1] == 1):
                integer = not spec.datatype.startswith("FP")
                features.append(Feature(spec.name, CATEGORICAL if integer else NUMERIC, PREDICTION,
                                        description=f"the value of '{spec.name}'"))
                self.plan.append((spec.name, spec.name, "category" if integer else "value", None))
            else:
                features.append(Feature(f"{spec.name}.mean", NUMERIC, PREDICTION, description=f"each row's mean of '{spec.name}'"))
                self.plan.append((features[-1].name, spec.name, "mean", None))
        # An output named like an input (or like "prediction") keeps both features apart.
        seen: set[str] = set()
        for i, feature in enumerate(features):
            if feature.name in seen:
                renamed = f"{feature.name} ({feature.role})"
                features[i] = Feature(renamed, feature.kind, feature.role, feature.categories, feature.description)
                self.plan[i] = (renamed, *self.plan[i][1:])
            seen.add(features[i].name)
        self.features = tuple(features)
        self.needs = tuple(dict.fromkeys(tensor for _, tensor, _, _ in self.plan))

    def columns(self, inputs: Tensors, outputs: Tensors) -> Columns:
        tensors = {**outputs, **inputs}
        found: Columns = {}
        for name, tensor, how, detail in self.plan:
            array = np.asarray(tensors[tensor])
            rows = array.shape[0] if array.ndim else 1
            if how == "length":
                found[name] = np.asarray([len(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
                                          for v in array.reshape(rows, -1)[:, 0].tolist()], dtype=np.float64)
            elif how == "argmax":
                found[name] = _predicted(array.astype(np.float64), detail)
            elif how == "category":
                found[name] = array.reshape(rows, -1)[:, 0].astype(str).astype(object)
            else:
                flat = array.astype(np.float64).reshape(rows, -1)
                found[name] = {"value": lambda f: f[:, 0], "column": lambda f: f[:, detail],
                               "mean": lambda f: f.mean(axis=1), "std": lambda f: f.std(axis=1)}[how](flat)
        return found


# -- which extractor a model gets -------------------------------------------------------------------
def extractor_for(manifest: Manifest, context: Mapping[str, Any] | None = None) -> Extractor:
    """The extractor of ``manifest``'s model: its family's when the signature is that family's,
    else the generic one. ``context``: what its reference profile carries (training's users)."""
    context = context or {}
    prep = manifest.preprocessing or {}
    inputs, outputs = manifest.inputs, manifest.outputs
    labels = manifest.labels
    family = manifest.family
    try:
        if family == "digits" and labels and len(inputs) == 1 and inputs[0].shape[1:] == [8, 8]:
            return DigitFeatures(inputs[0].name, float(prep.get("max_value", 16.0)), outputs[0].name, labels)
        if family == "sentiment" and labels and "vocabulary" in prep:
            from lepton_serving.vectorizer import Tokenizer

            return TextFeatures("text", Tokenizer.from_preprocessing(prep), outputs[0].name, labels)
        if family == "recommender" and len(inputs) == 1:
            known, counts = context.get("known_users"), context.get("item_counts")
            if known is None or counts is None:
                raise ProfileError("a recommender's profile needs context.known_users and context.item_counts")
            return RecommenderFeatures(inputs[0].name, outputs[0].name, known, counts)
        if family == "generator" and {s.name for s in inputs} >= {"z", "label"}:
            return GeneratorFeatures("z", "label", int(prep.get("num_classes", 10)))
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{manifest.name} v{manifest.version}: cannot read its {family} features: {exc}") from exc
    names = prep.get("feature_names")
    names = [str(n) for n in names] if isinstance(names, list) else None
    if (len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].datatype != "BYTES" and names
            and len(names) == inputs[0].shape[1]):
        output = outputs[0].name if labels and len(outputs[0].shape) == 2 else None
        return TableFeatures(inputs[0].name, names, output, labels)
    return GenericFeatures(inputs, outputs, labels, names)
