"""The expiry sweeper's claim and the expiring-authorizations gauge find the authorizations
still held through `ix_payments_authorized_at`: their cost does not grow with the payments'
history (both read every payment before: a sequential scan every 15 s for the gauge).

With sequential scans disabled for the transaction, the planner still scans a table it has no
usable index for; `pg_stat_xact_user_tables` counts the scans of this transaction alone. The
transaction is rolled back: nothing is claimed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eventkit.db import create_pool
from payments.adapters.repository import PaymentsRepository
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration


async def test_the_expiry_claim_and_gauge_read_no_payment_sequentially(pg_ready: None) -> None:
    pool = await create_pool(service_dsn("payments"), min_size=1, max_size=1)
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            work = conn.transaction()
            await work.start()
            try:
                await conn.execute("SET LOCAL enable_seqscan = off")
                repository = PaymentsRepository(conn)
                for _ in range(7):  # past the prepared statement's custom plans
                    await repository.authorized_before(timedelta(days=6))
                    await repository.claim_expiring(timedelta(days=6), 100)
                scans = await conn.fetchval(
                    "SELECT seq_scan FROM pg_stat_xact_user_tables "
                    "WHERE schemaname = 'payments' AND relname = 'payments'"
                )
            finally:
                await work.rollback()
    finally:
        await pool.close()
    assert scans == 0
