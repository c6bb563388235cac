"""Writing a row given as a dict: its keys are the columns (names from our code, never from
input), its values the parameters, in order; settling a row that must still be in the state read;
reading one row by its key, or every row a query returns; and failing loudly when a write that
cannot lose a race changed no row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg


async def insert(
    conn: asyncpg.Connection | asyncpg.Pool,
    table: str,
    row: Mapping[str, Any],
    on_conflict: str = "",
) -> str:
    """`INSERT INTO table (columns) VALUES ($1, …)` plus `on_conflict` (an `ON CONFLICT …`
    clause, if any); the command's status, e.g. `INSERT 0 1`."""
    columns = ", ".join(row)
    params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    conflict = f" {on_conflict}" if on_conflict else ""
    status: str = await conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({params}){conflict}", *row.values()
    )
    return status


async def settle(
    conn: asyncpg.Connection,
    table: str,
    key: tuple[str, Any],
    changes: Mapping[str, Any],
    *,
    only_while: str,
    stamp: str = "",
) -> asyncpg.Record | None:
    """`UPDATE table SET <column> = $2, …[, stamp = now()] WHERE <key column> = $1 AND
    only_while RETURNING *` (`only_while` a fixed condition of ours, e.g. `status = 'open'`): the
    row as it is now, or None when it was no longer so (settled before, or never there)."""
    column, value = key
    sets = [f"{name} = ${i}" for i, name in enumerate(changes, start=2)]
    sets += [f"{stamp} = now()"] if stamp else []
    row: asyncpg.Record | None = await conn.fetchrow(
        f"UPDATE {table} SET {', '.join(sets)} WHERE {column} = $1 AND {only_while} RETURNING *",
        value,
        *changes.values(),
    )
    return row


def compare_and_set(table: str, key: str, guard: str, columns: Iterable[str]) -> str:
    """`UPDATE table SET <column> = $3, …, version = version + 1, updated_at = now() WHERE key
    = $1 AND guard = $2`: a write that applies only while `guard` still holds the value read
    (the `version`, for an optimistic lock). Its parameters: the key, that value, then the
    columns' values in order. Only the statement is built here (a string, no await): callers on
    hot paths execute it themselves, as they did before."""
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=3))
    return (
        f"UPDATE {table} SET {sets}, version = version + 1, updated_at = now() "
        f"WHERE {key} = $1 AND {guard} = $2"
    )


async def select_one(
    db: asyncpg.Pool | asyncpg.Connection, table: str, column: str, value: Any
) -> asyncpg.Record | None:
    """The row of `table` whose `column` (a key: one row at most) is `value`; None if none."""
    row: asyncpg.Record | None = await db.fetchrow(
        f"SELECT * FROM {table} WHERE {column} = $1", value
    )
    return row


async def select_all(
    db: asyncpg.Pool | asyncpg.Connection, query: str, *args: Any
) -> list[asyncpg.Record]:
    """Every row `query` (with its parameters `args`) returns, as a list."""
    return list(await db.fetch(query, *args))


class LostUpdate(RuntimeError):
    """A write that had to change a row changed none: the row was locked by this transaction,
    so someone else changing it meanwhile would be a bug, not a race to lose quietly."""

    code = "lost_update"


def expect_changed(changed: bool, what: str) -> None:
    """Fail loudly (LostUpdate) when a write that cannot lose a race changed nothing."""
    if not changed:
        raise LostUpdate(f"{what}: no row changed")
