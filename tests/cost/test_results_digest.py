"""docs/benchmarks.json: the committed digest keeps the raw results' shape and `lepton cost` reads it."""
from __future__ import annotations

from pathlib import Path

from cost_inputs import results_doc

from bench.digest import digest
from lepton.cost import measured


def test_digest_keeps_median_p99_min_max_of_every_summary_and_nothing_else():
    raw = results_doc()
    small = digest(raw)
    assert small["cold"]["models"]["tabular"]["lepton"]["total"] == {"median": 500.0, "p99": 500.0,
                                                                     "min": 500.0, "max": 500.0}
    assert small["overhead"]["models"]["tabular"]["1"]["handler_us"] == {"median": 400.0, "p99": 900.0,
                                                                        "min": 400.0, "max": 400.0}
    assert small["meta"] == raw["meta"]
    assert small["http"]["servers"]["kserve"]["tabular"]["8"]["errors"] == 0


def test_lepton_cost_reads_the_digest_as_it_reads_the_raw_results():
    raw = results_doc()
    assert measured.parse(digest(raw), Path("d.json")).models == measured.parse(raw, Path("r.json")).models
    assert measured.parse(digest(raw), Path("d.json")).throughput == measured.parse(raw, Path("r.json")).throughput
