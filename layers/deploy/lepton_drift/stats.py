"""The statistics of a drift check: quantile bins, the population stability index, and a test of
the same hypothesis suited to each kind of feature, with its p-value.

- **PSI** (population stability index) compares two distributions over the same bins:
  ``sum((live - ref) * ln(live / ref))`` over the bins' proportions. It is what the thresholds
  judge: below 0.1 the populations are alike, 0.1-0.25 they moved, above 0.25 they differ (the
  conventions of credit scoring, where the index comes from). A bin empty on one side is given
  ``EPSILON`` of the mass, so one bin cannot make the index infinite.
- **Numeric features**: the two-sample Kolmogorov-Smirnov test (scipy), reference sample against
  the live values: the largest gap between the two empirical distribution functions, and how
  likely a gap that large is when both come from one distribution.
- **Categorical features** (a predicted class, a requested digit, known or unknown users):
  Pearson's chi-square test of homogeneity on the two count vectors (scipy), which asks the same
  question of counts.

With only a few rows, sampling noise alone moves the index: between two samples of sizes n and
m drawn from one population over B bins, PSI averages about (B - 1) * (1/n + 1/m). `noise_floor`
is that figure; the check says "not enough data" rather than read it as drift.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The share an empty bin is given, so that the logarithm stays finite.
EPSILON = 1e-4


@dataclass(frozen=True)
class Significance:
    """A test's name, its statistic and the statistic's p-value."""

    name: str
    statistic: float
    p_value: float


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """The interior edges of ``bins`` bins holding equal shares of ``values``: values the data
    holds (empirical quantiles), so a feature with few distinct values (word counts, shares of 64
    cells) gets edges at those values, and fewer bins when values repeat."""
    if values.size == 0 or bins < 2:
        return np.empty(0)
    edges = np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1], method="inverted_cdf")
    return np.unique(edges)


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """How many values fall in each of the ``len(edges) + 1`` bins; a value equal to an edge
    belongs to the bin above it, so a repeated value lands in one bin on both sides."""
    index = np.searchsorted(edges, values, side="right")
    return np.bincount(index, minlength=edges.size + 1).astype(np.int64)


def proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape)


def psi(reference: np.ndarray, live: np.ndarray) -> float:
    """The population stability index of two proportion vectors over the same bins."""
    ref = np.maximum(np.asarray(reference, dtype=np.float64), EPSILON)
    cur = np.maximum(np.asarray(live, dtype=np.float64), EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def noise_floor(bins: int, reference_rows: int, live_rows: int) -> float:
    """The index two samples of one population reach on average from sampling alone."""
    if reference_rows <= 0 or live_rows <= 0:
        return float("inf")
    return max(bins - 1, 1) * (1.0 / reference_rows + 1.0 / live_rows)


def ks_test(reference_sample: np.ndarray, live: np.ndarray) -> Significance:
    """Two-sample Kolmogorov-Smirnov: the statistic D and its p-value."""
    from scipy.stats import ks_2samp  # imported when a check runs, not when the library loads

    result = ks_2samp(reference_sample, live, alternative="two-sided", method="auto")
    return Significance("ks", float(result.statistic), float(result.pvalue))


def chi_square_test(reference_counts: np.ndarray, live_counts: np.ndarray) -> Significance:
    """Pearson's chi-square test of homogeneity of two count vectors over the same categories.
    Categories empty on both sides are left out; with fewer than two left there is nothing to
    test and the p-value is 1."""
    from scipy.stats import chi2_contingency

    table = np.vstack([np.asarray(reference_counts, dtype=np.float64), np.asarray(live_counts, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return Significance("chi2", 0.0, 1.0)
    result = chi2_contingency(table, correction=False)
    return Significance("chi2", float(result.statistic), float(result.pvalue))
