"""`lepton cost` end to end on a small results file built here, with the real price file."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cost_inputs import results_doc

from lepton.cli import main
from lepton.cost import prices


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding template.yaml, as `lepton` expects to be run from."""
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    return tmp_path


def _write(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cost_json_prices_tabular_at_128_mb_arm64_from_the_results_file(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = _json(capsys, ["cost", "--results", str(results), "--json", "--memory", "128", "--arch", "arm64",
                         "--rps", "1000", "--cold-fraction", "0.01"])
    [row] = out["rows"]
    table = prices.load()
    # 0.4 ms x 1769/128 = 5.53 ms -> 6 ms billed; 0.006 s x 0.125 GB x the arm64 price, a million times
    assert row["billed_ms"] == 6
    parts = row["usd_per_million_predictions"]
    assert parts["compute"] == pytest.approx(0.006 * 0.125 * table.unit("lambda.duration.arm64") * 1e6, abs=1e-6)
    assert parts["requests"] == pytest.approx(table.unit("lambda.requests") * 1e6)
    assert parts["api_gateway"] == pytest.approx(table.unit("apigw.http_requests") * 1e6)
    # init 498 ms x 13.8203125 = 6882.5 ms -> 6883 ms billed, 1 % of requests
    assert parts["init"] == pytest.approx(0.01 * 6.883 * 0.125 * table.unit("lambda.duration.arm64") * 1e6, abs=1e-6)
    assert parts["total"] == pytest.approx(sum(v for k, v in parts.items() if k != "total"), abs=1e-5)
    assert row["concurrency"] == 75  # 1000 x (0.006 + 0.01 x 6.8825) = 74.8
    assert out["results"]["date"] == "2026-11-29 12:00 UTC"
    assert any("1,769 MB" in a for a in out["assumptions"])


def test_cost_json_covers_every_model_memory_and_architecture_asked_for(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = _json(capsys, ["cost", "--results", str(results), "--json", "--memory", "512,1024"])
    assert [(r["memory_mb"], r["arch"]) for r in out["rows"]] == [(512, "arm64"), (512, "x86_64"),
                                                                   (1024, "arm64"), (1024, "x86_64")]


def test_cost_reads_the_newer_of_the_machines_run_and_the_committed_results(project):
    _write(project / ".lepton" / "bench" / "latest.json", results_doc(date="2026-11-01 10:00 UTC", warm_us=400))
    _write(project / "docs" / "benchmarks.json", results_doc(date="2026-11-20 10:00 UTC", warm_us=3000))
    # --from bench: the benchmark files alone, whether or not a local stack answers on this machine
    done = subprocess.run([sys.executable, "-m", "lepton.cli", "cost", "--json", "--from", "bench", "--memory", "2048",
                           "--arch", "arm64"], cwd=project, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["results"]["file"] == str(Path("docs") / "benchmarks.json")
    assert "newer than .lepton/bench/latest.json (2026-11-01 10:00 UTC)" in out["results"]["why"]
    assert out["rows"][0]["billed_ms"] == 3  # the committed run's 3.0 ms, not the older 0.4 ms


def test_cost_simulate_json_reports_the_spike_with_its_throttling_and_cold_starts(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = _json(capsys, ["cost", "--results", str(results), "--json", "--simulate", "spike", "--memory", "1024",
                         "--arch", "arm64"])
    [run] = out["runs"]
    # a jump to 10,000 req/s with an 860 ms init (498 x 1.7275) exhausts the 1,000 environments: the one
    # warm at 100 req/s plus 999 cold starts, and requests are throttled until the first ones are ready
    assert run["peak_environments"] == 1000
    assert run["cold_starts"] == 999
    assert run["throttled_by_lambda"] > 0
    assert run["worst_window_p99_ms"] == pytest.approx(498 * 1769 / 1024 + 0.4 * 1769 / 1024, rel=1e-6)


def test_cost_simulate_with_enough_provisioned_concurrency_has_no_cold_start(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = _json(capsys, ["cost", "--results", str(results), "--json", "--simulate", "spike", "--memory", "1024",
                         "--arch", "arm64", "--provisioned", "20"])
    assert out["runs"][0]["cold_starts"] == 0 and out["runs"][0]["throttled"] == 0


def test_cost_crossover_json_gives_a_rate_for_each_server(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = _json(capsys, ["cost", "--results", str(results), "--json", "--crossover"])
    lambda_arm = out["rows"][0]["crossovers"][0]
    # about $1.2 a million requests on Lambda + HTTP API against a c7g.xlarge month
    month = prices.load().unit("ec2.c7g.xlarge") * 730
    assert lambda_arm["first_rps"] == pytest.approx(
        month / (lambda_arm["usd_per_million_requests"] / 1e6 * 730 * 3600), rel=1e-3)


def test_cost_without_any_results_says_which_command_makes_them(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert main(["cost"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark results" in err and "lepton bench --sections cold,overhead,http" in err


def test_cost_with_an_unknown_model_names_the_measured_ones(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    assert main(["cost", "--results", str(results), "--models", "resnet"]) == 2
    assert "no measurements for resnet; measured: tabular" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--cold-fraction", "2"], "between 0 and 1"),
    (["--memory", "64"], "128 to 10,240 MB"),
    (["--rps", "-5"], "positive number"),
])
def test_cost_refuses_bad_flags_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cost", *argv])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_cost_text_output_shows_the_formula_and_the_cpu_rule(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    assert main(["cost", "--results", str(results), "--memory", "1024", "--arch", "arm64"]) == 0
    out = capsys.readouterr().out
    assert "billed duration (whole ms) x memory (GB) x price per GB-second" in out
    assert "one full vCPU at 1,769 MB" in out
    assert "tabular      arm64   1024 MB" in out


def test_cost_report_writes_the_document_and_every_plot_it_links(tmp_path, capsys):
    results = _write(tmp_path / "results.json", results_doc())
    out = tmp_path / "docs" / "scale.md"
    assert main(["cost", "--results", str(results), "--report", str(out)]) == 0
    text = out.read_text()
    for heading in ("## What a million predictions cost", "## How far it scales", "## When an always-on server",
                    "## The limits, in the order they bite", "## Past one account and one Region",
                    "## Assumptions and prices"):
        assert heading in text
    linked = [line.split("(")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert linked == ["scale-cost.png", "scale-spike.png", "scale-profiles.png", "scale-crossover.png"]
    for name in linked:
        assert (out.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "measured 2026-11-29 12:00 UTC" in text
