"""A request the HTTP parser cannot read is refused, by every service as it runs, in the
project's error body (`eventkit.http_protocol`), not uvicorn's plain text."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e

UNREADABLE = {
    "unknown method": b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "space in the path": b"GET /health z HTTP/1.1\r\nHost: x\r\n\r\n",
    "header without a colon": b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
}


def _exchange(url: str, request: bytes) -> bytes:
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):  # the server closes the connection after it
            answer += chunk
    return answer


@pytest.mark.parametrize("service", ["booking", "payments", "finance", "disputes"])
def test_a_request_that_is_not_http_gets_400_malformed_request(
    system: System, service: str
) -> None:
    for what, request in UNREADABLE.items():
        head, _, body = _exchange(system.urls[service], request).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (what, head)
        assert b"content-type: application/json" in head.lower(), (what, head)
        assert json.loads(body)["error"]["code"] == "malformed_request", (what, body)
    # and the service still answers the next, readable request
    assert _exchange(
        system.urls[service], b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ).startswith(b"HTTP/1.1 200")
