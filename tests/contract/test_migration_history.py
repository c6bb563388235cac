"""History is frozen: every migration of every service emits exactly the SQL it emitted when it
was written (tests/contract/migration_sql/<service>.sql), upgrade and downgrade, in order.

A refactor of the migrations (a shared DDL builder in eventkit.ddl, ...) must leave these
files unchanged. Only a new migration adds a block: regenerate with
`.venv/bin/python -m tests.support.migration_sql` and commit the snapshot with it."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.migration_sql import ROOT, SERVICES, history, parse, snapshot_path

REGENERATE = ".venv/bin/python -m tests.support.migration_sql"


@pytest.mark.parametrize("service", SERVICES)
def test_every_migration_emits_the_sql_it_always_did(service: str) -> None:
    committed = parse(snapshot_path(service).read_text())
    emitted = history(service)
    new = [name for name in emitted if name not in committed]
    assert list(committed) == [name for name in emitted if name not in new], (
        f"{service}: migrations were renamed, removed or reordered; committed "
        f"{list(committed)}, found {list(emitted)}"
    )
    changed = [name for name in committed if emitted[name] != committed[name]]
    diffs = "".join(
        "".join(
            difflib.unified_diff(
                committed[name].splitlines(keepends=True),
                emitted[name].splitlines(keepends=True),
                f"{name} (committed)",
                f"{name} (now)",
            )
        )
        for name in changed
    )
    assert not changed, (
        f"{service}: these migrations no longer emit the SQL of their history: {changed}\n{diffs}"
    )
    assert not new, f"{service}: new migrations {new} are not in the snapshot: run `{REGENERATE}`"


def test_the_regenerate_command_writes_the_committed_snapshots(tmp_path: Path) -> None:
    """The command CONVENTIONS.md gives, run as typed (into a scratch folder, not the repo's)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.migration_sql", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for service in SERVICES:
        written = (tmp_path / f"{service}.sql").read_text()
        assert written == snapshot_path(service).read_text(), service
