"""Every column of every service's tables, and every index expression, has the statistics target
eventkit.ddl.statistics_targets_v1 gives it: none for documents and payloads (json, jsonb,
bytea), 25 for the rest. At the server's default (100) autovacuum's ANALYZE of the tables a
checkout writes to took a third of a core in bursts at 50 checkouts/s (docs/benchmarks.md).

A later migration that adds a table or a column calls statistics_targets_v1 again; the first
test fails until it does. The downgrade runs in a transaction that is rolled back."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Connection, text

from tests.conftest import service_dsn
from tests.support import alembic_steps

pytestmark = pytest.mark.integration
SERVICES = ("booking", "payments", "finance", "disputes", "ops")
ROOT = Path(__file__).resolve().parents[2]

COLUMNS = """
    SELECT r.relname || '.' || a.attname AS name, t.typname, a.attstattarget
    FROM pg_attribute a
    JOIN pg_class r ON r.oid = a.attrelid
    JOIN pg_type t ON t.oid = a.atttypid
    WHERE r.relnamespace = $1::regnamespace AND r.relkind IN ('r', 'p')
      AND a.attnum > 0 AND NOT a.attisdropped
"""
EXPRESSIONS = """
    SELECT r.relname || '.' || a.attnum AS name, a.attstattarget
    FROM pg_index i
    JOIN pg_class r ON r.oid = i.indexrelid
    JOIN pg_attribute a ON a.attrelid = i.indexrelid AND a.attnum > 0
    WHERE r.relnamespace = $1::regnamespace AND i.indkey[a.attnum - 1] = 0
"""


def _expected(typname: str) -> int:
    return 0 if typname in ("json", "jsonb", "bytea") else 25


@pytest.mark.parametrize("service", SERVICES)
async def test_each_column_and_index_expression_has_its_statistics_target(service: str) -> None:
    conn = await asyncpg.connect(service_dsn(service))
    try:
        columns = await conn.fetch(COLUMNS, service)
        expressions = await conn.fetch(EXPRESSIONS, service)
    finally:
        await conn.close()
    assert len(columns) > 20  # the schema's tables were read
    wrong = {
        row["name"]: (row["typname"], row["attstattarget"])
        for row in columns
        if row["attstattarget"] != _expected(row["typname"])
    }
    assert wrong == {}, f"call eventkit.ddl.statistics_targets_v1 in the migration: {wrong}"
    assert {
        row["name"]: row["attstattarget"] for row in expressions if row["attstattarget"] != 25
    } == {}


async def test_the_expressions_of_bookings_overlap_and_payments_authorized_index_are_covered() -> (
    None
):
    conn = await asyncpg.connect(service_dsn("booking"))
    try:
        found = {
            (schema, row["name"])
            for schema in ("booking", "payments")
            for row in await conn.fetch(EXPRESSIONS, schema)
        }
    finally:
        await conn.close()
    assert ("booking", "ex_bookings_no_overlap.2") in found
    assert ("payments", "ix_payments_authorized_at.1") in found


def _downgraded_targets(conn: Connection) -> dict[str, int]:
    with alembic_steps.operations(conn):
        alembic_steps.revision("booking", "0029").downgrade()
    rows = conn.execute(
        text(
            "SELECT a.attname, a.attstattarget FROM pg_attribute a "
            "WHERE a.attrelid = 'booking.bookings'::regclass AND a.attname IN ('quote', 'status')"
        )
    )
    return {name: target for name, target in rows}


async def test_the_downgrade_gives_the_columns_back_the_servers_default() -> None:
    targets = await alembic_steps.rolled_back("booking", _downgraded_targets)
    assert targets == {"quote": -1, "status": -1}
