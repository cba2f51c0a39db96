"""The test-wide guard: a connection that would leave the machine fails; loopback works."""
from __future__ import annotations

import socket
import threading

import pytest


def test_a_connection_to_a_public_address_is_refused_before_any_packet_leaves():
    with socket.socket() as sock, pytest.raises(OSError, match="tests may not leave the machine"):
        sock.connect(("93.184.215.14", 443))


def test_connect_ex_to_a_public_address_is_refused_too():
    with socket.socket() as sock, pytest.raises(OSError, match="moto fixture missing"):
        sock.connect_ex(("8.8.8.8", 53))


def test_loopback_connections_still_work():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted = threading.Thread(target=lambda: server.accept()[0].close())
    accepted.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    accepted.join(5)
    server.close()


def test_boto3_without_moto_cannot_reach_aws():
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    client = boto3.client("s3", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with pytest.raises((EndpointConnectionError, OSError)):
        client.list_buckets()
