"""REPORT lines as Lambda writes them: the figures of one invocation, cold or warm."""
from __future__ import annotations

import base64
import json

import pytest
from lepton_deploy.report_line import InvokeReport, ReportLineError, from_log, from_log_result, local_line, parse_line

# Lines in Lambda's own format (tab-separated, a trailing tab), from a python3.12 function's log.
COLD = ("REPORT RequestId: 2f9b3c36-6b7c-4c57-9c1a-0d2a5f6e7b81\tDuration: 1.93 ms\tBilled Duration: 244 ms\t"
        "Memory Size: 1024 MB\tMax Memory Used: 112 MB\tInit Duration: 241.71 ms\t")
WARM = ("REPORT RequestId: 7d1e2a90-3c44-4f0e-8d0b-55a1c2b3d4e5\tDuration: 0.87 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 1024 MB\tMax Memory Used: 113 MB\t")
RESTORED = ("REPORT RequestId: 0c3a1b2d-9e8f-4a7b-8c6d-5e4f3a2b1c0d\tDuration: 2.41 ms\tBilled Duration: 167 ms\t"
            "Memory Size: 1024 MB\tMax Memory Used: 131 MB\tRestore Duration: 164.38 ms\t"
            "Billed Restore Duration: 164 ms\t")
TRACED = ("REPORT RequestId: 4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d\tDuration: 3.05 ms\tBilled Duration: 4 ms\t"
          "Memory Size: 512 MB\tMax Memory Used: 98 MB\tInit Duration: 512.30 ms\t\n"
          "XRAY TraceId: 1-6761a2b3-0a1b2c3d4e5f6a7b8c9d0e1f\tSegmentId: 0a1b2c3d4e5f6a7b\tSampled: true\t")


def tail(*lines: str) -> str:
    """An Invoke answer's LogResult: base64 of the log's last 4 KB."""
    return base64.b64encode("\n".join(lines).encode()).decode()


def test_a_cold_start_line_carries_its_init_duration_and_every_figure():
    report = parse_line(COLD)
    assert report == InvokeReport("2f9b3c36-6b7c-4c57-9c1a-0d2a5f6e7b81", 1.93, 244, 1024, 112, init_ms=241.71)
    assert report.cold


def test_a_warm_line_has_no_init_duration():
    report = parse_line(WARM)
    assert (report.duration_ms, report.billed_ms, report.max_memory_mb, report.init_ms) == (0.87, 1, 113, None)
    assert not report.cold


def test_a_snapstart_restore_is_cold_with_a_restore_duration_and_the_billed_restore_is_not_the_billed_duration():
    report = parse_line(RESTORED)
    assert (report.restore_ms, report.init_ms, report.billed_ms) == (164.38, None, 167)
    assert report.cold


def test_the_report_is_found_in_a_whole_log_tail_with_function_lines_and_xray():
    log = "\n".join([
        "START RequestId: 4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d Version: 7",
        '{"level":"INFO","message":"model loaded","service":"tabular"}',
        '{"_aws":{"Timestamp":1733500000000,"CloudWatchMetrics":[]},"Inference":0.01}',
        "END RequestId: 4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d", TRACED])
    report = from_log_result(tail(log))
    assert (report.duration_ms, report.billed_ms, report.memory_mb, report.max_memory_mb, report.init_ms) == (
        3.05, 4, 512, 98, 512.30)


def test_a_function_logging_json_gets_its_report_from_the_platform_report_record():
    record = {"time": "2026-12-07T10:00:00.000Z", "type": "platform.report",
              "record": {"requestId": "9f8e7d6c", "status": "success",
                         "metrics": {"durationMs": 1.5, "billedDurationMs": 210, "memorySizeMB": 1024,
                                     "maxMemoryUsedMB": 120, "initDurationMs": 207.9}}}
    report = from_log(json.dumps(record))
    assert (report.request_id, report.duration_ms, report.billed_ms, report.max_memory_mb, report.init_ms) == (
        "9f8e7d6c", 1.5, 210, 120, 207.9)


def test_a_tail_without_a_report_line_has_no_report():
    assert from_log("START RequestId: x Version: 3\nsome output\n") is None
    assert from_log_result(None) is None


def test_a_report_line_without_its_duration_is_refused_with_the_line():
    with pytest.raises(ReportLineError, match="without Duration"):
        parse_line("REPORT RequestId: x\tBilled Duration: 2 ms\tMemory Size: 128 MB\t")


def test_the_line_written_back_reads_the_same():
    report = parse_line(COLD)
    assert parse_line(report.line()) == report


def test_each_figure_says_who_measured_it():
    sources = {"init": "a fresh process of version 3 (pid 42): spawn to handler imported"}
    report = from_log("\n".join([local_line(sources), COLD]))
    assert report.source("init") == sources["init"]
    assert report.source("duration") == "Lambda's REPORT line"
    assert parse_line(COLD).source("init") == "Lambda's REPORT line"
