"""`deploy/local/db.sh` lets the services' roles sign in over the Unix socket with their
passwords, and `service_db_url` (deploy/local/lib.sh) then hands out socket URLs: every
service of `make up` talks to Postgres without loopback TCP (docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import TEST_DB

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _bash(script: str) -> str:
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


async def test_db_sh_lets_the_service_roles_in_over_the_socket() -> None:
    _bash(f"bash deploy/local/db.sh {TEST_DB}")  # idempotent: the suite's database exists
    socket_dir = (ROOT / ".run" / "postgres-socket").read_text().strip()
    url = _bash(f"source deploy/local/lib.sh && service_db_url payments {TEST_DB}")
    role = "payments_svc"
    assert url == f"postgresql://{role}:{role}@/{TEST_DB}?host={socket_dir}&port=5432"
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT current_user AS role, inet_client_addr() AS addr")
    finally:
        await conn.close()
    assert row["role"] == "payments_svc"
    assert row["addr"] is None  # a Unix-socket session has no client address


async def test_service_db_url_falls_back_to_tcp_without_the_socket_note(tmp_path: Path) -> None:
    url = _bash(
        f"source deploy/local/lib.sh && RUN_DIR={tmp_path} && service_db_url finance {TEST_DB}"
    )
    assert url == f"postgresql://finance_svc:finance_svc@127.0.0.1:5432/{TEST_DB}"
