"""PSI, quantile bins and the two tests, on distributions whose answers are known."""
from __future__ import annotations

import math

import numpy as np
import pytest
from lepton_drift import stats


def test_psi_is_zero_for_equal_shares_and_grows_with_the_gap() -> None:
    shares = np.array([0.25, 0.25, 0.25, 0.25])
    assert stats.psi(shares, shares) == 0.0
    # (0.4-0.25)ln(0.4/0.25) + (0.1-0.25)ln(0.1/0.25), twice: worked by hand
    moved = np.array([0.4, 0.1, 0.4, 0.1])
    expected = 2 * (0.15 * math.log(0.4 / 0.25) + (-0.15) * math.log(0.1 / 0.25))
    assert stats.psi(shares, moved) == pytest.approx(expected)
    assert stats.psi(shares, np.array([0.1, 0.4, 0.4, 0.1])) == pytest.approx(expected)


def test_an_empty_bin_gives_a_large_finite_index() -> None:
    value = stats.psi(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert math.isfinite(value) and value > 3


def test_quantile_bins_split_the_values_evenly_and_drop_repeated_edges() -> None:
    values = np.arange(1000, dtype=np.float64)
    edges = stats.quantile_edges(values, 10)
    assert len(edges) == 9 and set(edges) <= set(values)  # edges are values the data holds
    assert all(abs(count - 100) <= 1 for count in stats.bin_counts(values, edges))
    # a value that repeats cannot be split: one edge, and equal values land in one bin
    repeated = np.array([0.0] * 80 + [1.0] * 20)
    edges = stats.quantile_edges(repeated, 10)
    assert edges.tolist() == [0.0, 1.0]
    assert stats.bin_counts(repeated, edges).tolist() == [0, 80, 20]


def test_the_noise_floor_is_what_two_samples_of_one_population_reach() -> None:
    # GIVEN many pairs of samples from one normal population, over 10 quantile bins
    rng = np.random.default_rng(3)
    reference = rng.standard_normal(2000)
    edges = stats.quantile_edges(reference, 10)
    ref = stats.proportions(stats.bin_counts(reference, edges))
    found = [stats.psi(ref, stats.proportions(stats.bin_counts(rng.standard_normal(400), edges)))
             for _ in range(300)]
    # THEN their mean PSI is the floor the check assumes, (B - 1)(1/n + 1/m), within 15 %
    assert np.mean(found) == pytest.approx(stats.noise_floor(10, 2000, 400), rel=0.15)


def test_kolmogorov_smirnov_tells_a_shift_from_a_second_sample() -> None:
    rng = np.random.default_rng(5)
    reference = rng.standard_normal(1000)
    same = stats.ks_test(reference, rng.standard_normal(1000))
    shifted = stats.ks_test(reference, rng.standard_normal(1000) + 0.5)
    assert same.name == "ks" and same.p_value > 0.01
    assert shifted.p_value < 1e-10 and shifted.statistic > same.statistic


def test_chi_square_tests_counts_and_needs_two_categories() -> None:
    alike = stats.chi_square_test(np.array([500, 500]), np.array([52, 48]))
    unlike = stats.chi_square_test(np.array([500, 500]), np.array([90, 10]))
    assert alike.p_value > 0.5 and unlike.p_value < 1e-6
    # scipy's own value for this table, computed by hand: chi2 = sum((o-e)^2/e)
    table = np.array([[500, 500], [90, 10]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    assert unlike.statistic == pytest.approx(((table - expected) ** 2 / expected).sum())
    assert stats.chi_square_test(np.array([10, 0]), np.array([5, 0])).p_value == 1.0
