"""The e-sign providers' tables under a test's own prefix, built from the DDL that migrations
0007 and 0008 froze: the adapters keep no DDL of their own (the migrations create the tables),
so a test's private copy is the migrated table under another name."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import asyncpg

_VERSIONS = Path(__file__).resolve().parents[2] / "services/booking/booking/migrations/versions"
# Every table and index of those tables is named `esign_...` in schema booking, and nothing
# else in their DDL contains that string.
_MIGRATED_PREFIX = "esign_"


def migration(name: str) -> Any:
    """A revision module of booking's migrations, loaded by file (they are not a package)."""
    path = _VERSIONS / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _renamed(statements: list[str], prefix: str) -> list[str]:
    return [sql.replace(_MIGRATED_PREFIX, prefix) for sql in statements]


def builtin_ddl(prefix: str) -> tuple[list[str], list[str]]:
    """CREATE and DROP statements of the built-in provider's tables (0007) under `prefix`."""
    docs_before_pay = migration("0007_docs_before_pay.py")
    return (
        _renamed(docs_before_pay.ESIGN_TABLES, prefix),
        _renamed(docs_before_pay.DROP_ESIGN_TABLES, prefix),
    )


def dropbox_sign_ddl(prefix: str) -> tuple[list[str], list[str]]:
    """CREATE and DROP statements of Dropbox Sign's request map (0008) under `prefix`."""
    dropbox = migration("0008_dropbox_sign.py")
    return _renamed(dropbox.TABLES, prefix), _renamed(dropbox.DROP_TABLES, prefix)


async def execute_all(pool: asyncpg.Pool, statements: list[str]) -> None:
    async with pool.acquire() as conn:
        for sql in statements:
            await conn.execute(sql)
