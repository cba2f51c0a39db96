"""The benchmark suite's quick mode runs sections 1-3 end to end (our server only) and writes a
well-formed report. Timings are not asserted: only that every section ran and the tables hold."""
from __future__ import annotations

import json
import re

import pytest

from bench.cli import main


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


@pytest.mark.timeout(120)
def test_quick_mode_writes_a_well_formed_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    assert main(["--quick", "--sections", "cold,overhead,http", "--models", "tabular", "--no-peers", "--no-tf",
                 "--no-train", "--out", str(out), "--work", str(tmp_path / "work")]) == 0

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

    by_header = {tuple(t[0][:2]): t[2:] for t in tables}
    cold = by_header[("Model", "Process")]
    assert {row[1].split(" (")[0] for row in cold} == {"lepton, model layer", "lepton, model from S3", "onnxruntime"}
    overhead = by_header[("Model", "Batch")]
    assert [row[1] for row in overhead] == ["1", "8", "64"]
    http = by_header[("Model", "Concurrency")]
    assert {(row[1], row[2]) for row in http} >= {(c, s) for c in ("1", "8", "32") for s in ("lepton", "fastapi")}
    assert all(row[7] == "0" for row in http), "the servers answered errors"
    for row in cold + overhead + http:
        for cell in row[2:]:
            assert cell != "nan"

    raw = json.loads((tmp_path / "work" / "quick.json").read_text())
    assert set(raw) >= {"meta", "cold", "overhead", "http"}
    committed = json.loads((tmp_path / "benchmarks.json").read_text())  # the digest next to the report
    assert committed["overhead"]["models"]["tabular"]["1"]["handler_us"].keys() == {"median", "p99", "min", "max"}
