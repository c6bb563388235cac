"""One Alembic revision's `upgrade()`/`downgrade()` run by a test on the real test database, in
a transaction that is rolled back: Postgres DDL is transactional, so the database is left at
the head revision whatever the test does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from eventkit.db import sqlalchemy_url
from eventkit.migrations import alembic_config
from tests.conftest import service_dsn

ROOT = Path(__file__).resolve().parents[2]


def revision(service: str, name: str) -> Any:
    """The module of `service`'s revision `name` (its `upgrade` and `downgrade`)."""
    migrations = ROOT / "services" / service / service / "migrations"
    script = ScriptDirectory.from_config(alembic_config(migrations, service_dsn(service)))
    found = script.get_revision(name)
    assert found is not None, f"{service} has no revision {name}"
    return found.module


@contextmanager
def operations(conn: Connection) -> Iterator[None]:
    """Alembic's `op` bound to `conn`, as a revision's functions expect."""
    with Operations.context(MigrationContext.configure(conn)):
        yield


async def rolled_back(service: str, steps: Callable[[Connection], Any]) -> Any:
    """Run `steps` on one of `service`'s connections in a transaction, then roll it all back."""
    engine = create_async_engine(sqlalchemy_url(service_dsn(service)))
    try:
        async with engine.connect() as conn:
            try:
                return await conn.run_sync(steps)
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()
