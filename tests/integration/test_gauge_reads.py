"""The reads behind payments', finance's and disputes' gauges (their `metrics.gauges_worker`), against the
test database; each test's rows are rolled back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from disputes.adapters.cases_repository import CasesRepository
from disputes.domain.case import REMINDED, RESPONDABLE
from finance.adapters import close_repository
from payments.adapters import repository as payments_repository
from tests.support.rolled_back import rolled_back

pytestmark = pytest.mark.integration


async def _payment(conn: asyncpg.Connection, authorized_ago: timedelta) -> None:
    payment_id = f"pay_gauge_{uuid.uuid4().hex[:10]}"
    await conn.execute(
        "INSERT INTO payments.payments (payment_id, booking_id, guest_id, amount, platform_fee,"
        " currency, payment_method, status, correlation_id, host_account_id, authorized_at)"
        " VALUES ($1, $1, 'guest-gauge', 1000, 100, 'usd', 'pm_card_visa', 'authorized', $2,"
        " 'acct_gauge', now() - $3::interval)",
        payment_id,
        uuid.uuid4(),
        authorized_ago,
    )


async def test_authorizations_held_longer_than_an_age_are_counted() -> None:
    async with rolled_back("payments") as conn:
        age = timedelta(days=6)
        before = await payments_repository.PaymentsRepository(conn).authorized_before(age)
        await _payment(conn, timedelta(days=7))
        await _payment(conn, timedelta(hours=1))
        assert (
            await payments_repository.PaymentsRepository(conn).authorized_before(age) == before + 1
        )


async def test_open_exceptions_and_each_currencys_latest_close() -> None:
    now = datetime.now(UTC)
    async with rolled_back("finance") as conn:
        before = await close_repository.open_exceptions(conn, now)
        await conn.execute(
            "INSERT INTO finance.recon_exceptions (kind, object_id, currency, detail,"
            " raised_at) VALUES ('gauge_test', $1, 'usd', 'test', $2)",
            f"obj_{uuid.uuid4().hex[:8]}",
            now - timedelta(days=400),
        )
        after = await close_repository.open_exceptions(conn, now)
        assert after["open"] == before["open"] + 1
        assert after["oldest"] >= timedelta(days=400).total_seconds()
        for day, status in ((date(2031, 1, 1), "failed"), (date(2031, 1, 2), "closed")):
            await conn.execute(
                "INSERT INTO finance.day_closes (business_date, currency, status, report)"
                " VALUES ($1, 'zzq', $2, '{}'::jsonb)",
                day,
                status,
            )
        latest = {r["currency"]: r["status"] for r in await close_repository.latest_closes(conn)}
        assert latest["zzq"] == "closed"


async def _case(conn: asyncpg.Connection, status: str, due_in: timedelta, now: datetime) -> None:
    dispute_id = f"dp_gauge_{uuid.uuid4().hex[:10]}"
    await conn.execute(
        "INSERT INTO disputes.cases (dispute_id, processor_dispute_id, payment_id, booking_id,"
        " amount, currency, reason, status, inquiry, due_by, opened_at)"
        " VALUES ($1, $1, 'pay_gauge', 'bkg_gauge', 1000, 'usd', 'fraudulent', $2, false, $3, $4)",
        dispute_id,
        status,
        now + due_in,
        now,
    )


async def test_disputes_due_within_72_and_24_hours_are_counted() -> None:
    now = datetime(2031, 3, 1, tzinfo=UTC)  # ahead of every other test's cases
    respondable, still_open = sorted(RESPONDABLE), sorted(REMINDED)
    async with rolled_back("disputes") as conn:
        cases = CasesRepository(conn)
        before = await cases.due_counts(now, respondable, still_open)
        await _case(conn, "needs_response", timedelta(hours=10), now)  # both
        await _case(conn, "under_review", timedelta(hours=10), now)  # 72 h only: evidence in
        await _case(conn, "needs_response", timedelta(hours=50), now)  # 72 h only
        await _case(conn, "needs_response", timedelta(hours=80), now)  # neither
        await _case(conn, "needs_response", timedelta(hours=-1), now)  # past due: neither
        await _case(conn, "won", timedelta(hours=10), now)  # decided: neither
        after = await cases.due_counts(now, respondable, still_open)
        assert (after[0] - before[0], after[1] - before[1]) == (3, 1)
