"""The regression gate's thresholds, one by one, on figures as the measurement produces them."""
from __future__ import annotations

from lepton_deploy.regression import Figures, Thresholds, judge, p99_exceeds

DEFAULTS = Thresholds()  # the template's defaults: 2x p99, 2x init or 5,000 ms, 20 % memory headroom


def figures(version: int, p99: float, rounds: tuple[float, ...] | None = None, init: float | None = 250.0,
            memory: int | None = 110, configured: int = 1024, init_from: str = "this run") -> Figures:
    return Figures(version, p99, rounds or (p99,), init, init_from, memory, configured)


LIVE = figures(2, 0.30)


def test_the_same_speed_passes_and_the_reason_names_both_versions_figures():
    verdict = judge(figures(3, 0.33), LIVE, DEFAULTS)
    assert not verdict.refused
    assert "warm p99 0.33 ms against v2's 0.30 ms" in verdict.reason
    assert "init 250 ms against v2's 250 ms" in verdict.reason


def test_a_p99_above_the_ratio_in_every_round_is_refused_with_both_p99s():
    verdict = judge(figures(3, 4.1, (4.0, 4.2, 4.1)), figures(2, 0.3, (0.31, 0.29, 0.30)), DEFAULTS)
    assert verdict.refused
    assert verdict.problems[0].startswith("warm p99 4.10 ms against v2's 0.30 ms (13.7x, limit 2x")
    assert "above it in each of 3 interleaved rounds: 12.9x, 14.5x, 13.7x" in verdict.reason


def test_one_round_above_the_ratio_then_one_within_it_is_noise_not_a_regression():
    verdict = judge(figures(3, 0.5, (0.9, 0.32)), figures(2, 0.3, (0.3, 0.3)), DEFAULTS)
    assert not verdict.refused


def test_the_measurement_repeats_a_round_only_while_its_p99_exceeds_the_ratio():
    assert p99_exceeds(figures(3, 0.7, (0.7,)), LIVE, DEFAULTS)
    assert not p99_exceeds(figures(3, 0.5, (0.5,)), LIVE, DEFAULTS)
    assert not p99_exceeds(figures(1, 9.0), None, DEFAULTS)


def test_the_p99_ratio_is_a_setting():
    assert judge(figures(3, 0.5), LIVE, Thresholds(p99_ratio=1.5)).refused
    assert not judge(figures(3, 0.5), LIVE, Thresholds(p99_ratio=2.0)).refused


def test_an_init_above_the_ratio_of_the_live_ones_is_refused():
    verdict = judge(figures(3, 0.3, init=600.0), LIVE, DEFAULTS)
    assert verdict.refused
    assert verdict.problems == ("init 600 ms against v2's 250 ms (this run; 2.4x, limit 2x or 5,000 ms)",)
    assert not judge(figures(3, 0.3, init=450.0), LIVE, DEFAULTS).refused


def test_an_init_above_the_budget_is_refused_even_at_the_same_ratio():
    slow_live = figures(2, 0.3, init=6000.0)
    verdict = judge(figures(3, 0.3, init=6100.0), slow_live, DEFAULTS)
    assert verdict.refused and "6,100 ms against v2's 6,000 ms" in verdict.problems[0]
    assert not judge(figures(3, 0.3, init=6100.0), slow_live, Thresholds(init_budget_ms=7000)).refused


def test_the_live_init_read_from_its_receipt_says_so():
    live = figures(2, 0.3, init=240.0, init_from="its receipt of 2026-12-07T10:00:00")
    assert "(its receipt of 2026-12-07T10:00:00; 1.0x" in judge(figures(3, 0.3), live, DEFAULTS).reason


def test_memory_above_the_configured_size_less_the_headroom_is_refused():
    verdict = judge(figures(3, 0.3, memory=830), LIVE, DEFAULTS)
    assert verdict.refused
    assert verdict.problems == ("max memory 830 MB of 1024 MB configured (limit 819 MB, 20% headroom; v2 110 MB)",)
    assert not judge(figures(3, 0.3, memory=810), LIVE, DEFAULTS).refused
    assert judge(figures(3, 0.3, memory=700), LIVE, Thresholds(memory_headroom=0.4)).refused


def test_a_first_version_is_judged_only_against_the_budgets():
    assert not judge(figures(1, 50.0, init=4000.0), None, DEFAULTS).refused  # no p99 to compare with
    over_init = judge(figures(1, 0.3, init=5200.0), None, DEFAULTS)
    assert over_init.refused and over_init.problems == ("init 5,200 ms (budget 5,000 ms)",)
    over_memory = judge(figures(1, 0.3, memory=900), None, DEFAULTS)
    assert over_memory.refused and "max memory 900 MB" in over_memory.problems[0]


def test_every_problem_is_named_and_the_reason_keeps_the_other_figures():
    verdict = judge(figures(3, 3.0, (3.0,), init=900.0, memory=900), LIVE, DEFAULTS)
    assert len(verdict.problems) == 3
    assert verdict.reason.startswith("warm p99 3.00 ms against v2's 0.30 ms")


def test_figures_that_were_not_measured_are_said_so_and_judge_nothing():
    verdict = judge(figures(3, 0.3, init=None, memory=None), LIVE, DEFAULTS)
    assert not verdict.refused
    assert "init not measured" in verdict.reason and "max memory not measured (1024 MB configured)" in verdict.reason
