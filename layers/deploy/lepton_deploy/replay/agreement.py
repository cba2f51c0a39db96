"""How far a candidate's answers agree with the live version's, row by row, per task.

- classifier: top-1 agreement, the share of rows whose highest-scoring class is the same.
- regressor: relative error |candidate - live| / max(|live|, floor) per row (its largest
  element), as quantiles p50, p90 and p99; ``floor`` is 0.1 % of the live outputs' mean
  magnitude, so values near zero do not turn rounding into huge ratios. p90 is judged.
- ranker: overlap@k, the share of the live version's top k items the candidate also ranks in
  its top k, averaged over rows.
- generator: conditional agreement. A retrained generator draws a different image from the
  same latent vector, so images are never compared pixel by pixel. Instead each candidate
  image is given the class of the nearest mean image the live version drew per class on the
  same requests; the figure is the share given the class that was asked for, judged beside
  the live version's own share under the same rule. It needs two or more classes among the
  requests, else it cannot tell classes apart and the step is skipped.

A row the candidate failed to answer (an error the live version did not give) disagrees.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from lepton_serving.manifest import Task

Tensors = Mapping[str, np.ndarray]


@dataclass
class Comparison:
    task: Task
    figures: dict[str, float]  # the measured figures (agreement, p90_relative_error, overlap_at_k, ...)
    passed: bool
    measured: str = ""  # the judged figure as read: "agreement 0.62"
    limit: str = ""  # its threshold: "min 0.90"
    disagreeing: list[int] = field(default_factory=list)  # rows that disagree, in row order
    skipped: str = ""  # why it could not be judged ("" when judged)

    def headline(self, requests: int, rows: int) -> str:
        """The reason's figure: "agreement 0.62 on 200 captured requests (min 0.90)"."""
        extra = f", {rows} rows" if rows != requests else ""
        return f"{self.measured} on {requests} captured requests{extra} ({self.limit})"


def compare(task: Task, limits: Mapping[str, float], output: str, live: Tensors, candidate: Tensors,
            failed: np.ndarray, inputs: Tensors | None = None) -> Comparison:
    """Compare ``output`` row by row. ``failed``: rows the candidate did not answer (bool per row)."""
    want = np.asarray(live[output])
    got = np.asarray(candidate.get(output, np.full_like(want, np.nan, dtype=np.float64)))
    if got.shape != want.shape:  # a different shape answers nothing comparable
        failed = np.ones(len(want), dtype=bool)
        got = np.full(want.shape, np.nan)
    if task is Task.CLASSIFIER:
        return _classifier(limits, want, got, failed)
    if task is Task.REGRESSOR:
        return _regressor(limits, want, got, failed)
    if task is Task.RANKER:
        return _ranker(limits, want, got, failed)
    return _generator(limits, want, got, failed, inputs or {})


def _classifier(limits: Mapping[str, float], want: np.ndarray, got: np.ndarray, failed: np.ndarray) -> Comparison:
    same = (_top1(want) == _top1(got)) & ~failed
    agreement = float(same.mean()) if same.size else 0.0
    least = limits["min_agreement"]
    return Comparison(Task.CLASSIFIER, {"agreement": round(agreement, 4)}, agreement >= least,
                      f"agreement {agreement:.2f}", f"min {least:.2f}", np.flatnonzero(~same).tolist())


def _regressor(limits: Mapping[str, float], want: np.ndarray, got: np.ndarray, failed: np.ndarray) -> Comparison:
    w = want.reshape(len(want), -1).astype(np.float64)
    g = got.reshape(len(got), -1).astype(np.float64)
    floor = max(1e-3 * float(np.mean(np.abs(w))) if w.size else 0.0, 1e-12)
    with np.errstate(invalid="ignore"):
        relative = np.abs(g - w) / np.maximum(np.abs(w), floor)
    per_row = np.where(np.isnan(relative), np.inf, relative).max(axis=1, initial=0.0)
    per_row[failed] = np.inf
    p50, p90, p99 = (float(np.quantile(per_row, q)) for q in (0.5, 0.9, 0.99))
    most = limits["max_p90_relative_error"]
    figures = {"p50_relative_error": _finite(p50), "p90_relative_error": _finite(p90),
               "p99_relative_error": _finite(p99)}
    return Comparison(Task.REGRESSOR, figures, p90 <= most,
                      f"relative error p50 {_fmt(p50)}, p90 {_fmt(p90)}, p99 {_fmt(p99)}", f"max p90 {most:g}",
                      np.flatnonzero(per_row > most).tolist())


def _ranker(limits: Mapping[str, float], want: np.ndarray, got: np.ndarray, failed: np.ndarray) -> Comparison:
    w = want.reshape(len(want), -1)
    g = np.nan_to_num(got.reshape(len(got), -1).astype(np.float64), nan=-np.inf)
    k = int(min(limits["k"], w.shape[1]))
    top_live = np.argsort(-w, axis=1, kind="stable")[:, :k]
    top_candidate = np.argsort(-g, axis=1, kind="stable")[:, :k]
    overlap = np.array([len(set(a) & set(b)) / k for a, b in zip(top_live.tolist(), top_candidate.tolist())])
    overlap[failed] = 0.0
    mean = float(overlap.mean()) if overlap.size else 0.0
    least = limits["min_overlap"]
    return Comparison(Task.RANKER, {"overlap_at_k": round(mean, 4), "k": k}, mean >= least,
                      f"overlap@{k} {mean:.2f}", f"min {least:.2f}", np.flatnonzero(overlap < least).tolist())


def _generator(limits: Mapping[str, float], want: np.ndarray, got: np.ndarray, failed: np.ndarray,
               inputs: Tensors) -> Comparison:
    least = limits["min_agreement"]
    label = _condition(inputs, len(want))
    if label is None:
        return Comparison(Task.GENERATOR, {}, False, skipped="the requests carry no class (an integer input "
                                                                 "with one value per row) to judge images by")
    classes = np.unique(label)
    if len(classes) < 2:
        return Comparison(Task.GENERATOR, {"classes": len(classes)}, False,
                          skipped=f"every captured request asked for class {classes[0] if len(classes) else '-'}; "
                                  "telling classes apart needs two or more")
    w = want.reshape(len(want), -1).astype(np.float64)
    g = np.nan_to_num(got.reshape(len(got), -1).astype(np.float64), nan=np.inf)
    means = np.stack([w[label == c].mean(axis=0) for c in classes])

    def nearest(images: np.ndarray) -> np.ndarray:
        distances = ((images[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
        return classes[np.argmin(np.nan_to_num(distances, nan=np.inf, posinf=np.inf), axis=1)]

    same = (nearest(g) == label) & ~failed
    agreement = float(same.mean())
    live_agreement = float((nearest(w) == label).mean())
    return Comparison(Task.GENERATOR, {"agreement": round(agreement, 4), "live_agreement": round(live_agreement, 4),
                                       "classes": len(classes)}, agreement >= least,
                      f"conditional agreement {agreement:.2f} (live {live_agreement:.2f})", f"min {least:.2f}",
                      np.flatnonzero(~same).tolist())


def _condition(inputs: Tensors, rows: int) -> np.ndarray | None:
    """The class each row asked for: the integer input with one value per row ("label" first)."""
    found = [(name, np.asarray(a)) for name, a in inputs.items()
             if np.asarray(a).dtype.kind in "iu" and np.asarray(a).shape == (rows,)]
    found.sort(key=lambda pair: pair[0] != "label")
    return found[0][1] if found else None


def _top1(scores: np.ndarray) -> np.ndarray:
    """Each row's class: the highest score's index, or the row's one label or class id."""
    flat = scores.reshape(len(scores), -1)
    if flat.dtype.kind in "OUS":  # labels already
        return flat[:, 0].astype(str)
    if flat.shape[1] == 1:  # a class id per row
        return flat[:, 0].astype(str)
    return np.argmax(np.nan_to_num(flat.astype(np.float64), nan=-np.inf), axis=1).astype(str)


def _finite(value: float) -> float:
    return round(value, 6) if np.isfinite(value) else 1e308


def _fmt(value: float) -> str:
    return f"{value:.2g}" if np.isfinite(value) else "inf"
