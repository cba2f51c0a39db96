"""The capture reader reads what really lands in S3: the records a function wrote, through a
CloudWatch Logs subscription filter and a Firehose stream (moto's own), and the other forms an
object may take; by model, version and time window, newest first."""
from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from moto import mock_aws

from lepton.local.capture_setup import provision_captures
from lepton.local.log_delivery import LogDelivery
from lepton.local.template import Template
from eventfiles import ROOT
from lepton_deploy.captures import CaptureRecord, CaptureStore, decode_object, records_in
from lepton_serving import capture
from lepton_serving.capture import Capture, CaptureSettings

FUNCTION = "lepton-test-TabularFunction"


def record_line(request_id: str, version: str = "1", row: list[float] | None = None, status: int = 200) -> str:
    """One record as the tabular function writes it."""
    lines: list[str] = []
    writer = Capture(CaptureSettings(1.0), "tabular", FUNCTION, "3", write=lines.append)
    exchange = writer.begin("infer", request_id)
    if status == 200:
        features = np.asarray([row or [1.0, 2.0, 3.0]], np.float32)
        capture.seen({"features": features}, {"probabilities": np.asarray([[0.25, 0.75]], np.float32)}, version)
    writer.end(exchange, status, 0.002, version=version)
    return lines[0]


def envelope(*messages: str, kind: str = "DATA_MESSAGE") -> bytes:
    """One gzip'ed CloudWatch Logs envelope, as a subscription filter sends a batch to Firehose."""
    doc = {"messageType": kind, "owner": "123456789012", "logGroup": f"/aws/lambda/{FUNCTION}",
           "logStream": "2026/12/07/[3]abc", "subscriptionFilters": ["captures"],
           "logEvents": [{"id": str(i), "timestamp": 0, "message": m} for i, m in enumerate(messages)]}
    return gzip.compress(json.dumps(doc).encode())


def test_an_object_of_concatenated_gzip_envelopes_yields_every_record_in_order():
    # GIVEN what Firehose stores for two batches: two gzip members back to back, plus the control
    # message CloudWatch Logs sends when a subscription starts
    body = (envelope(kind="CONTROL_MESSAGE") + envelope(record_line("a"), record_line("b"))
            + envelope(record_line("c")))
    # THEN the reader finds the three records, in the order written
    found, bad = records_in(body)
    assert [r.id for r in found] == ["a", "b", "c"] and bad == 0
    assert found[0].inputs[0].array().tolist() == [[1.0, 2.0, 3.0]]


def test_records_stored_as_plain_or_gzip_lines_are_read_too():
    # Firehose with message extraction turned on stores the messages themselves, a line each
    lines = "\n".join([record_line("a"), record_line("b")]).encode() + b"\n"
    assert [d["id"] for d in decode_object(lines)] == ["a", "b"]
    assert [d["id"] for d in decode_object(gzip.compress(lines))] == ["a", "b"]


def test_a_damaged_object_costs_only_what_is_damaged():
    good = envelope(record_line("a"))
    # a truncated last gzip member (a partial upload), a line that is not JSON, a foreign schema
    truncated = good + envelope(record_line("b"))[:-20]
    assert [d["id"] for d in decode_object(truncated)] == ["a"]
    future = json.dumps({**json.loads(record_line("x")), "lepton_capture": 2})
    found, bad = records_in(f"not json\n{record_line('c')}\n{future}\n".encode())
    assert [r.id for r in found] == ["c"] and bad == 1


@pytest.fixture
def aws():
    with mock_aws():
        made = {s: boto3.client(s, region_name="us-east-1") for s in ("s3", "iam", "logs", "firehose")}
        template = Template(ROOT / "template.yaml")
        names = provision_captures(lambda s: made[s], template, {"TabularFunction": FUNCTION}, "lepton-test",
                                   "123456789012", "us-east-1")
        made["bucket"] = names["CaptureBucket"]
        yield made


def test_records_delivered_through_the_log_group_land_under_the_models_prefix_and_read_back(aws):
    # GIVEN the function's records put into its log group, as Lambda delivers what it prints
    delivery = LogDelivery(aws["logs"])
    for i in range(5):
        delivery.feed(record_line(f"r{i}", version="1" if i < 3 else "2").rstrip("\n"))
    assert delivery.flush() == 5
    # THEN moto's subscription filter and Firehose stream wrote them under captures/tabular/YYYY/MM/DD/HH/
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=aws["bucket"])["Contents"]]
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    assert keys and all(k.startswith(f"captures/tabular/{hour}/") for k in keys), keys
    body = aws["s3"].get_object(Bucket=aws["bucket"], Key=keys[0])["Body"].read()
    assert body[:2] == b"\x1f\x8b"  # what really lands: gzip'ed CloudWatch Logs envelopes
    # AND the reader gives them back newest first, by version
    store = CaptureStore(aws["s3"], aws["bucket"])
    assert [r.id for r in store.records("tabular")] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.id for r in store.latest("tabular", "1", 2)] == ["r2", "r1"]
    assert [r.id for r in store.records("tabular", version=2)] == ["r4", "r3"]
    assert list(store.records("digits")) == []


def test_a_time_window_and_the_replayable_filter(aws):
    delivery = LogDelivery(aws["logs"])
    delivery.feed(record_line("refused", status=400).rstrip("\n"))
    delivery.feed(record_line("ok").rstrip("\n"))
    delivery.flush()
    store = CaptureStore(aws["s3"], aws["bucket"])
    # only successes with every tensor in full can be replayed
    assert [r.id for r in store.latest("tabular", "1", 10)] == ["ok"]
    assert [r.id for r in store.latest("tabular", "1", 10, replayable=False)] == ["ok", "refused"]
    # a window that ended before they were captured holds none of them
    past = datetime.now(UTC) - timedelta(hours=3)
    assert list(store.records("tabular", start=past - timedelta(days=1), end=past)) == []
    assert len(list(store.records("tabular", start=past))) == 2


def test_a_record_round_trips_every_field_of_the_contract():
    doc = json.loads(record_line("id-1"))
    assert list(doc) == ["lepton_capture", "model", "function", "function_version", "id", "time", "version",
                         "route", "status", "latency_ms", "error", "inputs", "outputs"]
    record = CaptureRecord.from_dict(doc)
    assert datetime.now(UTC) - timedelta(seconds=10) < record.at <= datetime.now(UTC)
    assert (record.rows, record.replayable) == (1, True)
