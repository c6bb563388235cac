"""The ops back office's clients of the staff APIs (services/ops/ops/adapters/staff_apis.py)
against the real finance, disputes and gateway apps in process, on the test database: ops's
own service credential reads, acts for a named person (recorded as `<person> via
service:ops`), and every refusal arrives as ApiError(status, code, message)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from booking.bootstrap import build_app as booking_app
from booking.bootstrap import build_runtime as booking_runtime
from booking.config import BookingSettings
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.service_layer.unit_of_work import UnitOfWork
from disputes.entrypoints import http as disputes_http
from eventkit import http_errors
from eventkit.auth import DEV_JWT_SECRET, Role, decode_token, issue_token
from eventkit.outbox import Outbox
from finance.bootstrap import build_app, build_runtime
from finance.config import FinanceSettings
from tests.conftest import service_dsn
from tests.e2e.conftest import ROOT
from tests.integration.test_disputes_api import a_case
from tests.support.disputes_harness import DisputesHarness
from tests.support.finance_queue import QueueHarness, entry_id

if importlib.util.find_spec("ops") is None:  # before the ops package is installed
    sys.path.insert(0, str(ROOT / "services/ops"))
from eventkit.db import create_pool
from ops.adapters.booking_api import BookingApi
from ops.adapters.disputes_api import DisputesApi
from ops.adapters.finance_api import FinanceApi
from ops.adapters.staff_apis import ApiError, ServiceCredential

pytestmark = pytest.mark.integration
OPS = ServiceCredential(DEV_JWT_SECRET)


def person(sub: str, role: Role) -> Any:
    async def token() -> str:  # an async provider works as well as a plain one
        return issue_token(DEV_JWT_SECRET, sub, role)

    return token


def transport(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=app)


@pytest.fixture
def finance(q: QueueHarness) -> FastAPI:
    runtime = build_runtime(FinanceSettings(database_url=service_dsn("finance")))
    runtime.pool = q.pool
    runtime.state["release"] = q.release
    app = build_app(runtime)
    app.state.runtime = runtime
    return app


@pytest.fixture
async def disputes(pg_ready: None) -> AsyncIterator[tuple[FastAPI, DisputesHarness]]:
    pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=4)
    harness = DisputesHarness(pool, evidence_max_bytes=100_000, summary_reserve_bytes=60_000)
    app = FastAPI()
    http_errors.install(app)
    disputes_http.install(app)
    app.state.runtime = SimpleNamespace(
        db=pool, state={"handlers": harness.handlers, "settings": harness.settings}
    )
    app.state.jwt_secret = harness.settings.jwt_secret
    yield app, harness
    await pool.close()


async def test_finance_api_reads_acts_for_a_person_and_maps_refusals(
    q: QueueHarness, finance: FastAPI
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    one = entry_id(captured)
    async with FinanceApi("http://finance", OPS, transport=transport(finance)) as api:
        page = await api.payout_queue(host_account_id=q.host, state="scheduled")
        assert [e["entry_id"] for e in page["entries"]] == [one]
        held = await api.hold(one, "guest complaint", acting_for="alice@example.com")
        assert held == {"entry_id": one, "state": "held"}
        history = (await api.payout_entry(one))["history"]
        assert (history[-1]["trigger"], history[-1]["actor"]) == (
            "hold",
            "alice@example.com via service:ops",
        )
        with pytest.raises(ApiError) as held_back:  # a held entry is not released
            await api.release_now(one, "pay it", acting_for="alice@example.com")
        assert (held_back.value.status, held_back.value.code) == (409, "illegal_transition")
        with pytest.raises(ApiError) as missing:
            await api.payout_entry("pay_nope:bk_nope")
        assert (missing.value.status, missing.value.code) == (404, "entry_not_found")
        assert (await api.unhold(one, "cleared", acting_for="alice@example.com"))["state"]
        policy = f"rolling_{uuid.uuid4().hex[:8]}"
        made = await api.create_reserve_policy(
            policy, "rolling_percent", percent_bps=1_000, hold_days=30, acting_for="bob"
        )
        assert made["version"] == 1
        await api.assign_reserve_policy(policy, "host", scope_key=q.host, acting_for="bob")
        assert policy in str(await api.reserve_policies())
        assert (await api.reconciliation_exceptions(currency="zzz"))["items"] == []
        assert (await api.trial_balance())["balanced"] in (True, False)
    guest = FinanceApi("http://finance", person("g", Role.GUEST), transport=transport(finance))
    async with guest:
        with pytest.raises(ApiError) as forbidden:
            await guest.payout_queue()
    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")


async def test_disputes_api_works_a_case_for_trust_staff(
    disputes: tuple[FastAPI, DisputesHarness],
) -> None:
    app, harness = disputes
    dispute_id = await a_case(harness)
    async with DisputesApi("http://disputes", OPS, transport=transport(app)) as api:
        assert dispute_id in {c["dispute_id"] for c in (await api.queue(limit=200))["data"]}
        assert (await api.case(dispute_id))["dispute_id"] == dispute_id
        edited = await api.edit_evidence(
            dispute_id, {"customer_name": "A. Guest"}, acting_for="tom@example.com"
        )
        assert edited["history"][-1]["actor"] == "tom@example.com via service:ops"
        stored = await api.upload_evidence(
            dispute_id,
            "receipt",
            "r.pdf",
            b"%PDF-1.4 a receipt",
            "application/pdf",
            acting_for="tom@example.com",
        )
        assert stored["field"] == "receipt"
        assert (await api.summary_pdf(dispute_id)).startswith(b"%PDF-")
        submitted = await api.submit(dispute_id, acting_for="tom@example.com")
        assert submitted["status"] == "submitting"
        with pytest.raises(ApiError) as locked:
            await api.accept(dispute_id, acting_for="tom@example.com")
        assert (locked.value.status, locked.value.code) == (409, "illegal_transition")
        with pytest.raises(ApiError) as missing:
            await api.case("dsp_nope")
        assert (missing.value.status, missing.value.code) == (404, "case_not_found")


async def test_booking_api_reads_and_publishes_with_the_staff_members_token(
    booking_pool: asyncpg.Pool,
) -> None:
    app = booking_app(booking_runtime(BookingSettings()))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database only
    listing_id = f"lst_staff_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-s', 'acct_s', 'Staff', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime(2033, 3, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-s", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        placed = await place_booking(UnitOfWork(conn, Outbox("booking", "booking")), cmd)
    booking_id = str(placed["booking_id"])
    admin = BookingApi("http://gw", person("ops-1", Role.ADMIN), transport=transport(app))
    trust = BookingApi("http://gw", person("trust-1", Role.TRUST), transport=transport(app))
    async with admin, trust:
        assert (await trust.booking(booking_id))["booking_id"] == booking_id
        name = f"staff-{uuid.uuid4().hex[:8]}"
        policy = {"name": name, "bands": [{"hours_before": 24, "refund_bps": 5000}]}
        published = await admin.publish_cancellation_policy(policy, idempotency_key=name)
        assert (published["name"], published["version"]) == (name, 1)
        assert name in {p["name"] for p in await trust.cancellation_policies()}
        with pytest.raises(ApiError) as refused:
            await trust.publish_cancellation_policy(policy)
        assert (refused.value.status, refused.value.code) == (403, "forbidden")
        with pytest.raises(ApiError) as missing:
            await admin.booking(str(uuid.uuid4()))
        assert (missing.value.status, missing.value.code) == (404, "booking_not_found")


async def test_an_unreachable_service_is_an_api_error_too() -> None:
    async with FinanceApi("http://127.0.0.1:9", OPS, timeout=2) as api:
        with pytest.raises(ApiError) as down:
            await api.trial_balance()
    assert (down.value.status, down.value.code) == (503, "service_unavailable")


def test_the_service_credential_is_ops_and_renewed_before_it_lapses() -> None:
    assert decode_token(DEV_JWT_SECRET, OPS()).actor == "service:ops"
    now, minted = [1_000.0], []

    def mint(secret: str, service: str, ttl: int) -> str:
        minted.append((service, ttl))
        return f"token-{len(minted)}"

    credential = ServiceCredential(DEV_JWT_SECRET, ttl_seconds=100, clock=lambda: now[0], mint=mint)
    assert credential() == "token-1"
    now[0] += 79
    assert credential() == "token-1"  # still well within its life
    now[0] += 2
    assert credential() == "token-2"  # 80% of its life gone: a fresh one
    assert minted == [("ops", 100), ("ops", 100)]
