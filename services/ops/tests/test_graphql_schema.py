"""The committed staff schema (contracts/graphql/admin.graphql) is what the code defines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ops.entrypoints.graphql_schema import sdl

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "contracts" / "graphql" / "admin.graphql"


def test_the_committed_schema_is_current() -> None:
    assert COMMITTED.read_text() == sdl(), (
        "contracts/graphql/admin.graphql is stale: run `make docs` "
        "(python -m ops graphql-schema --output contracts/graphql/admin.graphql)"
    )


def test_the_export_command_writes_the_schema_as_documented(tmp_path: Path) -> None:
    out = tmp_path / "admin.graphql"
    subprocess.run(
        [sys.executable, "-m", "ops", "graphql-schema", "--output", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert out.read_text() == COMMITTED.read_text()
    assert "replayDeadLetter(idempotencyToken: String!" in out.read_text()
