"""Schemathesis against the gateway as a real process: every operation of its OpenAPI document,
valid and invalid inputs, with a guest's and a host's bearer token so requests get past
authentication.

Bounded for CI (about half a minute per role): 25 examples per operation, deterministic
generation. Zero server errors and zero statuses, content types or bodies the document does not declare.
The command is the one docs/api-errors.md shows; only the address and token differ.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KAFKA, service_dsn
from tests.support import free_port, processes
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


@pytest.fixture(scope="module")
def gateway(
    kafka_bootstrap: str, pg_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("fuzz") / "booking.log"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": KAFKA,
        "PYTHONPATH": str(ROOT),
        "BOOKING_DATABASE_URL": service_dsn("booking"),
        "BOOKING_HTTP_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    with processes.serving(["-m", "booking", "serve"], env, log, url):
        yield url
    tracebacks = log.read_text().count("Traceback")
    assert tracebacks == 0, f"the gateway logged {tracebacks} traceback(s): see {log}"


def token(role: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "booking", "token", "--sub", f"{role}-fuzz", "--role", role],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


# Admins are left out: their fuzzed policies would become the newest version of real ones.
@pytest.mark.parametrize(
    ("role", "own_operation"), [("guest", "POST /v1/quotes"), ("host", "POST /v1/invites")]
)
def test_every_operation_answers_only_documented_statuses_and_never_500(
    gateway: str, role: str, own_operation: str
) -> None:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{gateway}/openapi.json",
        "--header",
        f"Authorization: Bearer {token(role)}",
        "--checks",
        CHECKS,
        "--max-examples",
        "25",
        "--generation-deterministic",
        "--phases",
        "examples,coverage,fuzzing",
        # One worker: with two, schemathesis's threads race in CPython 3.11's AST
        # constructor (hypothesis describes lambdas with ast.parse) and fail now and then
        # with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905).
        "--workers",
        "1",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(2)) > 30, output[-3000:]
    assert re.search(r"\d+ generated, (\d+) passed", output), output[-3000:]
    # The token was accepted: the role's own operation is not among those answered only 401/403.
    section = re.search(r"^Authentication failed:.*?(?=^💡)", output, re.S | re.M)
    refused = section.group(0).splitlines() if section else []
    assert f"  - {own_operation}" not in refused, output[-3000:]
