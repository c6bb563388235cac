"""The SQL every service's migrations emit, one block per migration and direction: the pinned
history that tests/contract/test_migration_history.py compares against the committed
tests/contract/migration_sql/<service>.sql.

Each revision's `upgrade()` then `downgrade()` runs through Alembic's offline (`as_sql`) mode,
which writes the statements to a buffer instead of a database. The few migrations that read
the database (`op.get_bind()`: a CHECK constraint's definition, to re-create it with one more
or one fewer value) get a stand-in connection that records the query and answers it from the
statements emitted so far, as the database at that revision would.

Regenerate the snapshot, after adding a migration (never to accept a change to an old one):

    .venv/bin/python -m tests.support.migration_sql
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "payments", "finance", "disputes", "ops")
SNAPSHOT_DIR = ROOT / "tests" / "contract" / "migration_sql"
HEADER = "-- migration "
_CONSTRAINT = re.compile(r"CONSTRAINT\s+(\w+)\s+CHECK\s*\(")
_DROPPED = re.compile(r"DROP CONSTRAINT (?:IF EXISTS )?(\w+)")
_ASKED = re.compile(r"conname\s*=\s*'(\w+)'")


def _check_clauses(sql: str) -> Iterator[tuple[str, str]]:
    """(name, `(...)`) of each named CHECK constraint a statement defines."""
    for match in _CONSTRAINT.finditer(sql):
        depth, start = 0, match.end() - 1
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                yield match.group(1), sql[start : end + 1]
                break


class _Catalog:
    """The named CHECK constraints of a schema, as the statements emitted so far left them."""

    def __init__(self) -> None:
        self.checks: dict[str, str] = {}

    def apply(self, sql: str) -> None:
        for name in _DROPPED.findall(sql):
            self.checks.pop(name, None)
        self.checks.update(_check_clauses(sql))


class _Result:
    def __init__(self, value: str | None) -> None:
        self.value = value

    def scalar(self) -> str | None:
        return self.value


class _Bind:
    """Stands in for `op.get_bind()`: answers `pg_get_constraintdef` from the catalog."""

    def __init__(self, catalog: _Catalog, out: io.StringIO) -> None:
        self.catalog, self.out = catalog, out

    def exec_driver_sql(self, sql: str, *args: Any) -> _Result:
        asked = _ASKED.search(sql)
        if "pg_get_constraintdef" not in sql or asked is None:
            raise NotImplementedError(f"the migration history recorder cannot answer: {sql}")
        self.out.write(f"-- reads: {sql}\n")
        clause = self.catalog.checks.get(asked.group(1))
        return _Result(None if clause is None else f"CHECK {clause}")


@contextmanager
def _recording(catalog: _Catalog) -> Iterator[io.StringIO]:
    out = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql", opts={"as_sql": True, "output_buffer": out}
    )
    operations = Operations(context)
    bind = _Bind(catalog, out)
    operations.get_bind = lambda: bind  # type: ignore[method-assign]
    operations._install_proxy()
    try:
        yield out
    finally:
        operations._remove_proxy()


def _run(catalog: _Catalog, step: Any) -> str:
    with _recording(catalog) as out:
        step()
    sql = out.getvalue()
    catalog.apply(sql)
    return sql


def _revisions(service: str) -> list[Script]:
    config = Config()
    location = ROOT / "services" / service / service / "migrations"
    config.set_main_option("script_location", str(location))
    return list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))


def history(service: str) -> dict[str, str]:
    """Per migration file: its upgrade's SQL, then its downgrade's (from that revision)."""
    catalog, blocks = _Catalog(), {}
    for script in _revisions(service):
        upgrade = _run(catalog, script.module.upgrade)
        before = dict(catalog.checks)
        downgrade = _run(catalog, script.module.downgrade)
        catalog.checks = before
        name = Path(script.path).name
        blocks[name] = f"-- upgrade\n{upgrade}-- downgrade\n{downgrade}"
    return blocks


def render(blocks: dict[str, str]) -> str:
    return "".join(f"{HEADER}{name}\n{sql}" for name, sql in blocks.items())


def parse(text: str) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for chunk in text.split(HEADER)[1:]:
        name, _, sql = chunk.partition("\n")
        blocks[name] = sql
    return blocks


def snapshot_path(service: str) -> Path:
    return SNAPSHOT_DIR / f"{service}.sql"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write each service's migration SQL snapshot.")
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="folder to write into")
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        target = out / snapshot_path(service).name
        target.write_text(render(history(service)))
        sys.stdout.write(f"wrote {target}\n")


if __name__ == "__main__":
    main()
