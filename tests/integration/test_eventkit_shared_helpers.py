"""The eventkit helpers the services share instead of spelling them out each: an outbox reply,
one row by its key, a command line's pool. On payments' real schema; every write is rolled
back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from eventkit.db import command_pool
from eventkit.outbox import Outbox
from eventkit.rows import insert, select_all, select_one, settle
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.payments import PaymentVoidedV1
from tests.conftest import service_dsn
from tests.support.rolled_back import rolled_back

pytestmark = pytest.mark.integration


@pytest.fixture
async def conn(pg_ready: None) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back("payments") as connection:
        yield connection


def _voided(payment_id: str) -> PaymentVoidedV1:
    return PaymentVoidedV1(payment_id=payment_id, booking_id="b-helpers", reason="test")


async def test_a_reply_carries_the_handled_envelopes_correlation_and_is_caused_by_it(
    conn: asyncpg.Connection,
) -> None:
    handled = make_envelope(
        _voided("pay_cause"), key="pay_cause", producer="booking", correlation_id=uuid.uuid4()
    )

    sent = await Outbox("payments", producer="payments").reply(
        conn, _voided("pay_reply"), key="pay_reply", cause=handled
    )

    stored = await conn.fetchval(
        "SELECT payload FROM payments.outbox WHERE event_id = $1", sent.event_id
    )
    written = Envelope.from_bytes(stored)
    assert (written.correlation_id, written.causation_id) == (
        handled.correlation_id,
        handled.event_id,
    )
    assert (written.key, written.producer) == ("pay_reply", "payments")


async def test_select_one_reads_the_row_of_a_key_and_none_for_an_unknown_key(
    conn: asyncpg.Connection,
) -> None:
    request_id = f"req_{uuid.uuid4().hex[:12]}"
    await insert(
        conn,
        "payments.dispute_actions",
        {
            "request_id": request_id,
            "dispute_id": "dsp_helpers",
            "action": "accept",
            "succeeded": True,
        },
    )

    row = await select_one(conn, "payments.dispute_actions", "request_id", request_id)

    assert row is not None and row["dispute_id"] == "dsp_helpers"
    assert await select_one(conn, "payments.dispute_actions", "request_id", "req_none") is None


async def test_settle_changes_a_row_only_while_its_condition_holds(
    conn: asyncpg.Connection,
) -> None:
    table, dispute = "payments.dispute_actions", f"dsp_{uuid.uuid4().hex[:12]}"
    first, second = f"req_{uuid.uuid4().hex[:12]}", f"req_{uuid.uuid4().hex[:12]}"
    for request_id in (first, second):
        row = {"request_id": request_id, "dispute_id": dispute, "action": "submit"}
        await insert(conn, table, row | {"succeeded": False})
    done = {"succeeded": True, "message": "done"}

    row = await settle(
        conn, table, ("request_id", first), done, only_while="NOT succeeded", stamp="created_at"
    )

    assert row is not None
    assert (row["request_id"], row["succeeded"], row["message"]) == (first, True, "done")
    again = {"succeeded": True, "message": "twice"}
    assert (
        await settle(conn, table, ("request_id", first), again, only_while="NOT succeeded") is None
    )
    unknown = ("request_id", "req_none")
    assert await settle(conn, table, unknown, again, only_while="NOT succeeded") is None
    rows = await select_all(
        conn, f"SELECT request_id, message FROM {table} WHERE dispute_id = $1", dispute
    )
    assert {(r["request_id"], r["message"]) for r in rows} == {(first, "done"), (second, None)}


async def test_a_command_pool_lends_one_connection_and_is_closed_after(pg_ready: None) -> None:
    async with command_pool(service_dsn("payments")) as pool:
        assert await pool.fetchval("SELECT 1") == 1
        assert pool.get_max_size() == 1
    assert pool.is_closing()
