"""Which task a model does, and the replay gate's thresholds for it.

A manifest may say its task (``"task": "classifier"``); else a known family's task is used;
else it is read from the signature (`infer_task`, which `lepton add` also uses and reports).
Each task has default thresholds; a manifest's ``"replay"`` object overrides any of them.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lepton_serving.manifest import Manifest, Task, TensorSpec

#: Each task's thresholds and their defaults (docs/lifecycle.md says what each means).
DEFAULTS: dict[Task, dict[str, float]] = {
    Task.CLASSIFIER: {"min_agreement": 0.9},
    Task.REGRESSOR: {"max_p90_relative_error": 0.1},
    Task.RANKER: {"k": 10, "min_overlap": 0.5},
    Task.GENERATOR: {"min_agreement": 0.8},
}
#: The shares (agreement, overlap) must lie in 0..1; an error bound must be positive; k is a count.
_SHARES = {"min_agreement", "min_overlap"}

FAMILY_TASKS: dict[str, Task] = {
    "tabular": Task.CLASSIFIER, "digits": Task.CLASSIFIER, "sentiment": Task.CLASSIFIER,
    "recommender": Task.RANKER, "generator": Task.GENERATOR,
}
_LATENT_NAMES = ("z", "latent", "noise")


def task_of(manifest: Manifest) -> tuple[Task, str]:
    """The model's task and where it was found (said in the replay's figures)."""
    if manifest.task:
        return Task(manifest.task), "from the manifest"
    if manifest.family in FAMILY_TASKS:
        return FAMILY_TASKS[manifest.family], f"the {manifest.family} family's"
    task, why = infer_task(manifest.inputs, manifest.outputs, manifest.labels)
    return task, f"read from the signature: {why}"


def infer_task(inputs: list[TensorSpec], outputs: list[TensorSpec], labels: list[str] | None) -> tuple[Task, str]:
    """A task from a signature, and why. A ranker looks like a classifier without labels, so it
    is never guessed: declare it (`lepton add --task ranker`, or the manifest's "task")."""
    latent = [s.name for s in inputs if s.name.lower() in _LATENT_NAMES and s.datatype.startswith("FP")]
    if latent:
        return Task.GENERATOR, f"input '{latent[0]}' is a latent vector"
    scores = _scores(outputs)
    if labels and scores and scores.shape[-1] == len(labels):
        return Task.CLASSIFIER, f"output '{scores.name}' has one score per label ({len(labels)})"
    named = [s for s in outputs if _label_like(s)]
    if named:
        return Task.CLASSIFIER, f"output '{named[0].name}' holds a class per row"
    if scores:
        width = scores.shape[-1]
        return Task.CLASSIFIER, f"output '{scores.name}' has {width if width > 0 else 'several'} scores per row"
    first = outputs[0]
    return Task.REGRESSOR, f"output '{first.name}' {first.shape} holds numbers"


def judged_output(task: Task, outputs: list[TensorSpec], labels: list[str] | None) -> str:
    """The output a replay compares: a classifier's scores (else its class), a ranker's scores, the
    first output otherwise."""
    if task in (Task.CLASSIFIER, Task.RANKER):
        scores = _scores(outputs)
        if scores and (task is Task.RANKER or not labels or scores.shape[-1] in (len(labels), -1)):
            return scores.name
        named = [s for s in outputs if _label_like(s)]
        if named:
            return named[0].name
    return outputs[0].name


def _scores(outputs: list[TensorSpec]) -> TensorSpec | None:
    """The first output of several floating-point values per row ([batch, k], k > 1)."""
    return next((s for s in outputs if s.datatype.startswith("FP") and len(s.shape) == 2
                 and s.shape[-1] != 1), None)


def _label_like(spec: TensorSpec) -> bool:
    """One label or class id per row: BYTES, or an integer [batch] (what scikit-learn exports)."""
    return len(spec.shape) <= 2 and (spec.shape[-1:] in ([-1], [1]) or len(spec.shape) == 1) and (
        spec.datatype == "BYTES" or spec.datatype.startswith(("INT", "UINT")))


def thresholds(manifest: Manifest, task: Task) -> dict[str, float]:
    """The task's defaults with the manifest's ``replay`` values over them; ValueError for an
    unknown name or a value out of range (the gate's manifest check refuses such a version)."""
    return merged(task, manifest.replay)


def merged(task: Task, given: Mapping[str, Any]) -> dict[str, float]:
    defaults = DEFAULTS[task]
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"replay threshold(s) {', '.join(map(repr, unknown))} do not apply to a {task}; "
                         f"it takes {', '.join(sorted(defaults))}")
    limits = {**defaults, **{k: float(v) for k, v in given.items()}}
    for name, value in limits.items():
        if name in _SHARES and not 0.0 <= value <= 1.0:
            raise ValueError(f"replay threshold {name} must be from 0 to 1, got {value:g}")
        if name == "k" and (value < 1 or value != int(value)):
            raise ValueError(f"replay threshold k must be a whole number of items, 1 or more, got {value:g}")
        if name.startswith("max_") and value <= 0:
            raise ValueError(f"replay threshold {name} must be above 0, got {value:g}")
    return limits
