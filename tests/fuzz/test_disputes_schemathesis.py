"""Schemathesis against the disputes service as a real process: every operation of its OpenAPI
document, valid and invalid inputs, with a trust staff token and a real case's id in the path
(so requests reach the case, not only 404).

Bounded (25 examples per operation, deterministic generation): zero server errors, and no
status, content type or body the document does not declare; no traceback in the log.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from disputes.config import DEV_JWT_SECRET
from eventkit.db import create_pool
from tests.conftest import KAFKA, service_dsn
from tests.support import free_port, processes
from tests.support.disputes_harness import DisputesHarness, ids, opened
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


@pytest.fixture(scope="module")
def disputes(
    kafka_bootstrap: str, pg_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("fuzz") / "disputes.log"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": KAFKA,
        "PYTHONPATH": str(ROOT),
        "DISPUTES_DATABASE_URL": service_dsn("disputes"),
        "DISPUTES_HTTP_PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    with processes.serving(["-m", "disputes", "serve"], env, log, url):
        yield url
    tracebacks = log.read_text().count("Traceback")
    assert tracebacks == 0, f"disputes logged {tracebacks} traceback(s): see {log}"


async def a_case() -> str:
    pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=2)
    assert pool is not None
    try:
        dispute_id, payment_id = ids()
        await DisputesHarness(pool).deliver(opened(dispute_id, payment_id), payment_id)
        return dispute_id
    finally:
        await pool.close()


def test_every_operation_answers_only_documented_statuses_and_never_500(
    disputes: str, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.dispute_id" = "{asyncio.run(a_case())}"\n')
    claims = {"sub": "trust-fuzz", "role": "trust", "exp": int(time.time()) + 3600}
    token = jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{disputes}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        "25",
        "--generation-deterministic",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(2)) >= 10, output[-3000:]
    assert re.search(r"\d+ generated, (\d+) passed", output), output[-3000:]
    assert "Authentication failed" not in output, output[-3000:]
