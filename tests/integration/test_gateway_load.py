"""The gateway under contention and overload, on the real database (httpx ASGITransport).

* Many checkouts of one slot, sent while the winner's payment is confirmed: Postgres may abort
  one of them as a deadlock victim (the exclusion check of the loser's insert and the winner's
  confirming update wait on each other). The loser's transaction is run again and answers 409
  `slot_unavailable`; never a 500.
* Past the bound of checkouts in flight the gateway refuses new ones with 503 `overloaded` and
  `Retry-After`, before holding anything, and admits again once payments caught up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from booking.service_layer.admission import Admission
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.db import retry_conflicts
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import PaymentAuthorizedV1

pytestmark = pytest.mark.integration
SECRET = "gateway-load-tests-secret-long-enough"
HANDLERS = BookingHandlers(Outbox("booking", producer="booking"))


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # HTTP and database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def _room_for(checkouts: int, pool: asyncpg.Pool, gateway: httpx.AsyncClient) -> Admission:
    """The gateway's load shedding with room for exactly `checkouts` more checkouts beyond
    what other tests left in flight."""
    admission = Admission(limit=1)
    await admission.measure(SimpleNamespace(db=pool))  # type: ignore[arg-type]
    admission.limit = admission.in_flight + checkouts
    gateway.app.state.admission = admission  # type: ignore[attr-defined]
    return admission


async def _listing(pool: asyncpg.Pool) -> str:
    listing_id = f"lst_load_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-load', 'acct_load', 'Load', 5000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    return listing_id


def _body(listing_id: str, day: int) -> dict[str, Any]:
    # Within the gateway's booking horizon (BOOKING_HORIZON_DAYS); the listing is the test's own.
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    start += timedelta(days=30 + day)
    return {
        "listing_id": listing_id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "payment_method": "pm_card_visa",
    }


def _guest(n: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, f'guest-load-{n}', Role.GUEST)}"}


async def _authorize(pool: asyncpg.Pool, booking: dict[str, Any]) -> None:
    """What booking's consumer does with payments' answer: confirm the winner."""
    event = PaymentAuthorizedV1(
        payment_id=f"pay_{booking['booking_id']}",
        booking_id=booking["booking_id"],
        payment_intent_id=f"pi_{uuid.uuid4().hex[:12]}",
        amount=booking["amount"],
        currency="usd",
    )
    env = make_envelope(
        event, key=booking["booking_id"], producer="payments", correlation_id=uuid.uuid4()
    )

    async def confirm() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await HANDLERS.on_payment_authorized(UnitOfWork(conn, HANDLERS.outbox), env, event)

    await retry_conflicts(confirm)  # a deadlock victim is retried by the consumer too


async def test_contended_slots_answer_409_never_500_while_the_winner_is_confirmed(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    listing_id = await _listing(booking_pool)
    statuses: Counter[int] = Counter()
    for day in range(16):
        body = _body(listing_id, day)
        winner = await gateway.post("/v1/bookings", json=body, headers=_guest(0))
        assert winner.status_code == 202, winner.text
        answers = await asyncio.gather(
            _authorize(booking_pool, winner.json()),
            *(gateway.post("/v1/bookings", json=body, headers=_guest(n)) for n in range(1, 13)),
        )
        for answer in answers[1:]:
            statuses[answer.status_code] += 1
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "slot_unavailable"
        status = await booking_pool.fetchval(
            "SELECT status FROM booking.bookings WHERE booking_id = $1",
            uuid.UUID(winner.json()["booking_id"]),
        )
        assert status == "confirmed"
    assert statuses == Counter({409: 16 * 12})


async def test_past_the_bound_checkouts_are_refused_with_503_before_anything_is_held(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    runtime = SimpleNamespace(db=booking_pool)
    admission = await _room_for(2, booking_pool, gateway)
    listing_id = await _listing(booking_pool)

    first = await gateway.post("/v1/bookings", json=_body(listing_id, 0), headers=_guest(1))
    second = await gateway.post("/v1/bookings", json=_body(listing_id, 1), headers=_guest(2))
    assert (first.status_code, second.status_code) == (202, 202)
    refused = await gateway.post("/v1/bookings", json=_body(listing_id, 2), headers=_guest(3))
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "overloaded"
    assert int(refused.headers["Retry-After"]) >= 1
    held = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.bookings WHERE listing_id = $1", listing_id
    )
    assert held == 2  # the refused checkout held nothing

    # The count is measured again (as the periodic worker does) after payments answered one.
    await _authorize(booking_pool, first.json())
    await admission.measure(runtime)  # type: ignore[arg-type]
    again = await gateway.post("/v1/bookings", json=_body(listing_id, 2), headers=_guest(3))
    assert again.status_code == 202, again.text


async def test_requests_that_place_nothing_give_their_place_back(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    """Refused (409, 422) and replayed checkouts hold nothing: they must not shed the next."""
    admission = await _room_for(2, booking_pool, gateway)
    listing_id = await _listing(booking_pool)
    taken = _body(listing_id, 0)
    keyed = {**_guest(0), "Idempotency-Key": f"load-{uuid.uuid4()}"}
    placed = await gateway.post("/v1/bookings", json=taken, headers=keyed)
    assert placed.status_code == 202, placed.text  # one of the two places
    replayed = await gateway.post("/v1/bookings", json=taken, headers=keyed)
    assert replayed.status_code == 202 and replayed.json() == placed.json()
    for n in range(1, 6):
        lost = await gateway.post("/v1/bookings", json=taken, headers=_guest(n))
        assert (lost.status_code, lost.json()["error"]["code"]) == (409, "slot_unavailable")
        junk = await gateway.post("/v1/bookings", json={**taken, "guests": "x"}, headers=_guest(n))
        assert junk.status_code == 422
    assert admission.in_flight == admission.limit - 1  # only the placed checkout counts
    second = await gateway.post("/v1/bookings", json=_body(listing_id, 1), headers=_guest(9))
    assert second.status_code == 202, second.text  # the other place, still free
    shed = await gateway.post("/v1/bookings", json=_body(listing_id, 2), headers=_guest(10))
    assert (shed.status_code, shed.json()["error"]["code"]) == (503, "overloaded")


async def test_a_retry_of_an_accepted_checkout_is_answered_even_at_the_bound(
    booking_pool: asyncpg.Pool, gateway: httpx.AsyncClient
) -> None:
    """A guest whose answer was lost retries under the same key: it gets the stored 202, even
    while new checkouts are shed (the booking exists and is being paid for), and a new
    checkout under a new key is still refused 503."""
    admission = await _room_for(1, booking_pool, gateway)
    listing_id = await _listing(booking_pool)
    body = _body(listing_id, 0)
    keyed = {**_guest(0), "Idempotency-Key": f"load-{uuid.uuid4()}"}
    placed = await gateway.post("/v1/bookings", json=body, headers=keyed)
    assert placed.status_code == 202, placed.text
    shed = await gateway.post("/v1/bookings", json=_body(listing_id, 1), headers=_guest(1))
    assert (shed.status_code, shed.json()["error"]["code"]) == (503, "overloaded")

    retried = await gateway.post("/v1/bookings", json=body, headers=keyed)
    assert retried.status_code == 202, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == placed.json()
    assert admission.in_flight == admission.limit  # the replay took no place
    other = {**_guest(0), "Idempotency-Key": f"load-{uuid.uuid4()}"}
    new = await gateway.post("/v1/bookings", json=_body(listing_id, 2), headers=other)
    assert (new.status_code, new.json()["error"]["code"]) == (503, "overloaded")
    held = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.bookings WHERE listing_id = $1", listing_id
    )
    assert held == 1
