"""The benchmark suite's quick mode runs sections 1-3 end to end (our server only) and writes a
well-formed report. Timings are not asserted: only that every section ran and the tables hold."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from bench.cli import main
from trained_models import artifact_cache, trained

MODELS = ("tabular", "digits")


@pytest.fixture
def work(request, tmp_path_factory, tmp_path):
    """The bench's scratch folder holding quickly trained models: `lepton up`'s deployer refuses a
    model without real held-out metrics, as it would in AWS."""
    folders = {  # digits as tests/local/test_generator_stack.py trains it (a quick run misses digits' 0.9)
        "tabular": trained(artifact_cache(request, tmp_path_factory, "lepton-quick-models"), "tabular", quick=True),
        "digits": trained(artifact_cache(request, tmp_path_factory, "lepton-stack-models"), "digits", quick=False,
                          epochs=6, folds=2, verbose=0),
    }
    for family in MODELS:
        shutil.copytree(folders[family], tmp_path / "work" / "artifacts" / family)
    return tmp_path / "work"


def _tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


@pytest.mark.timeout(480)
def test_quick_mode_writes_a_well_formed_report(tmp_path, work):
    out = tmp_path / "benchmarks.md"
    assert main(["--quick", "--sections", "cold,overhead,http,soak", "--models", ",".join(MODELS), "--no-peers", "--no-tf",
                 "--no-train", "--out", str(out), "--work", str(work)]) == 0

    text = out.read_text()
    for heading in ("## Headline", "## 1. Cold start", "## 2. Warm serving overhead", "## 3. HTTP throughput"):
        assert heading in text
    assert "quick mode" in text
    assert re.search(r"Machine: \d+ cores", text)
    assert (tmp_path / "benchmarks.png").stat().st_size > 0

    tables = _tables(text)
    assert len(tables) >= 4  # headline, cold start, overhead, HTTP
    for table in tables:
        header, rule, *rows = table
        assert all(set(cell) <= set("- ") for cell in rule) and len(rule) == len(header)
        assert rows, f"table {header} has no rows"
        assert all(len(row) == len(header) for row in rows), f"ragged table {header}"

    def rows_of(*header: str, model: str = "") -> list[list[str]]:
        matches = [t for t in tables if tuple(t[0][:len(header)]) == header]
        assert matches, f"no table starting {header}"
        return [row for row in matches[-1][2:] if not model or row[0] == model]

    cold = rows_of("Model", "Process")
    assert {row[1].split(" (")[0] for row in cold} == {"lepton, model layer", "lepton, model from S3", "onnxruntime"}
    overhead = rows_of("Model", "Route", "Batch", "session.run median", model="tabular")
    routes = ("V2", "V2 binary", "friendly")
    assert [(row[1], row[2]) for row in overhead] == [(r, b) for r in routes for b in ("1", "8", "64")]
    growth = rows_of("Model", "Route", "Overhead at batch 1", model="tabular")
    assert [(row[1], row[3]) for row in growth] == [(r, "64") for r in routes]
    split = rows_of("Model", "Route", "Batch", "Decode", model="tabular")
    assert [(row[1], row[2]) for row in split] == [(r, b) for r in routes for b in ("1", "64")]
    http = rows_of("Model", "Concurrency")
    # every server answers every model: a setting one model's function reads from another's shows here
    assert {(row[0], row[1], row[2]) for row in http} >= {(m, c, s) for m in ("tabular", "digits") for c in ("1", "8", "32")
                                                       for s in ("lepton", "lepton-api", "fastapi")}
    assert all(row[7] == "0" for row in http), "the servers answered errors"
    soak = rows_of("Requests", "Non-200 answers")
    assert int(soak[0][0].replace(",", "")) > 0 and soak[0][1] == "0", soak
    for row in cold + overhead + growth + split + http:
        for cell in row[2:]:
            assert cell != "nan"

    raw = json.loads((work / "quick.json").read_text())
    assert set(raw) >= {"meta", "cold", "overhead", "http"}
    committed = json.loads((tmp_path / "benchmarks.json").read_text())  # the digest next to the report
    assert committed["overhead"]["models"]["tabular"]["1"]["handler_us"].keys() == {"median", "p99", "min", "max"}
    assert committed["overhead"]["binary"]["tabular"]["64"]["paired_us"].keys() == {"median", "p99", "min", "max"}
    split_64 = committed["overhead"]["predict"]["tabular"]["64"]["split_us"]
    assert split_64.keys() == {"decode", "preprocess", "postprocess", "encode", "rest"}
