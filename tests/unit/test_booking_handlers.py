"""Booking's consumer handlers (`service_layer/handlers.py`) on its unit of work in memory
(tests/support/booking_fakes.py): what each stores, publishes and cancels through the unit
alone (the fake has no connection). The kernel's ending step is replaced by a recorder.
The same handlers on the real database: tests/integration/test_reauthorization.py,
test_authorization_expiry.py, test_host_accounts.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.service_layer import handlers as module
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.timer_kinds import REQUEST_EXPIRY
from eventkit.routing import PermanentError
from marketplace_contracts import make_envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    HostAccountUpdatedV1,
    PaymentFailedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
)
from tests.support.booking_fakes import FakeUnitOfWork

PAYMENT = "pay_h1"
NOW = datetime(2035, 1, 1, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def handlers(fake: FakeUnitOfWork) -> BookingHandlers:
    return BookingHandlers(fake.outbox)  # type: ignore[arg-type]


def _env(event: Any) -> Any:
    return make_envelope(event, key=PAYMENT, producer="payments", correlation_id=uuid.uuid4())


def _booking(fake: FakeUnitOfWork, status: str, payment_status: str = "authorized") -> str:
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "status": status,
        "payment_status": payment_status,
        "payment_id": PAYMENT,
        "group_id": None,
        "version": 1,
        "amount": 12_000,
        "currency": "usd",
        "correlation_id": uuid.uuid4(),
    }
    return str(booking_id)


def _expiring(booking_id: str) -> AuthorizationExpiringV1:
    return AuthorizationExpiringV1(
        payment_id=PAYMENT,
        booking_id=booking_id,
        amount=12_000,
        currency="usd",
        authorized_at=NOW,
        expires_at=NOW + timedelta(days=7),
        payment_intent_id="pi_h1",
    )


async def test_a_listing_is_stored_as_catalogue_sent_it(
    fake: FakeUnitOfWork, handlers: BookingHandlers
) -> None:
    listing = ListingUpsertedV1(
        listing_id="lst_h1",
        host_id="host-h1",
        host_account_id="acct_h1",
        title="Loft",
        hourly_rate=1_000,
        currency="usd",
        platform_fee_bps=1_000,
        cancellation_policy="flexible",
    )
    env = _env(listing)
    await handlers.on_listing_upserted(fake.as_uow(), env, listing)
    assert fake.bookings.listings["lst_h1"] == {
        **listing.model_dump(),
        "catalog_at": env.occurred_at,
    }


async def test_only_a_newer_host_account_report_replaces_one(
    fake: FakeUnitOfWork, handlers: BookingHandlers
) -> None:
    for enabled, at in ((True, NOW), (False, NOW - timedelta(hours=1))):
        report = HostAccountUpdatedV1(
            host_account_id="acct_h1",
            charges_enabled=enabled,
            payouts_enabled=enabled,
            updated_at=at,
        )
        await handlers.on_host_account_updated(fake.as_uow(), _env(report), report)
    assert fake.bookings.host_accounts["acct_h1"]["charges_enabled"] is True


@pytest.mark.parametrize("status", ["failed", "expired", "declined", "released"])
async def test_a_voided_payment_is_recorded_on_the_booking_that_failed(
    fake: FakeUnitOfWork, handlers: BookingHandlers, status: str
) -> None:
    booking_id = _booking(fake, status)
    voided = PaymentVoidedV1(payment_id=PAYMENT, booking_id=booking_id, reason="hold_expired")
    await handlers.on_payment_voided(fake.as_uow(), _env(voided), voided)
    row = fake.bookings.bookings[uuid.UUID(booking_id)]
    assert (row["payment_status"], row["version"]) == ("voided", 2)


@pytest.mark.parametrize("status", ["confirmed", "completed", "cancelled", "pending_payment"])
async def test_a_void_of_a_booking_that_did_not_fail_is_refused_out_of_order(
    fake: FakeUnitOfWork, handlers: BookingHandlers, status: str
) -> None:
    """Payments voids only after booking_failed: a void of a confirmed (captured) booking came
    out of order (replayed, forged) and would mark its captured payment voided."""
    booking_id = _booking(fake, status)
    before = dict(fake.bookings.bookings[uuid.UUID(booking_id)])
    voided = PaymentVoidedV1(payment_id=PAYMENT, booking_id=booking_id, reason="x")
    with pytest.raises(PermanentError, match=rf"^out_of_order: .* which is {status}"):
        await handlers.on_payment_voided(fake.as_uow(), _env(voided), voided)
    assert fake.bookings.bookings[uuid.UUID(booking_id)] == before


@pytest.mark.parametrize("status", ["confirmed", "completed", "cancelled"])
async def test_a_failure_of_a_captured_payment_is_refused_out_of_order(
    fake: FakeUnitOfWork, handlers: BookingHandlers, status: str
) -> None:
    """Applied, it would ask the guest to pay again for a booking already paid."""
    booking_id = _booking(fake, status, payment_status="captured")
    before = dict(fake.bookings.bookings[uuid.UUID(booking_id)])
    failed = PaymentFailedV1(payment_id=PAYMENT, booking_id=booking_id, code="card_declined")
    with pytest.raises(PermanentError, match=r"^out_of_order: .* whose payment is captured"):
        await handlers.on_payment_failed(fake.as_uow(), _env(failed), failed)
    assert fake.bookings.bookings[uuid.UUID(booking_id)] == before
    assert fake.outbox.added == []


async def test_a_fact_about_an_unknown_booking_is_refused_for_good(
    fake: FakeUnitOfWork, handlers: BookingHandlers
) -> None:
    voided = PaymentVoidedV1(payment_id=PAYMENT, booking_id=str(uuid.uuid4()), reason="x")
    with pytest.raises(PermanentError):
        await handlers.on_payment_voided(fake.as_uow(), _env(voided), voided)


async def test_an_expiring_authorization_of_a_confirmed_booking_asks_for_the_capture_again(
    fake: FakeUnitOfWork, handlers: BookingHandlers
) -> None:
    booking_id = _booking(fake, "confirmed")
    expiring = _expiring(booking_id)
    env = _env(expiring)
    await handlers.on_authorization_expiring(fake.as_uow(), env, expiring)
    [(confirmed, meta)] = fake.outbox.added
    assert (confirmed.TYPE, confirmed.payment_id) == ("booking.booking_confirmed", PAYMENT)
    assert (meta["key"], meta["causation_id"]) == (booking_id, env.event_id)
    assert fake.bookings.bookings[uuid.UUID(booking_id)]["version"] == 1  # not a transition


async def test_a_failed_renewal_ends_the_request_and_cancels_its_expiry(
    fake: FakeUnitOfWork, handlers: BookingHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended: list[tuple[str, str]] = []

    async def end_booking(
        uow: Any, row: Any, trigger: Any, reason: str, *_: Any, **__: Any
    ) -> None:
        ended.append((str(row["booking_id"]), reason))

    monkeypatch.setattr(module, "end_booking", end_booking)
    booking_id = _booking(fake, "awaiting_host")
    await fake.timers.schedule(REQUEST_EXPIRY, booking_id, NOW)
    failed = ReauthorizationFailedV1(payment_id=PAYMENT, booking_id=booking_id, code="declined")
    await handlers.on_reauthorization_failed(fake.as_uow(), _env(failed), failed)
    assert ended == [(booking_id, "reauthorization_failed")]
    assert fake.timers.cancelled == [(REQUEST_EXPIRY, booking_id)]
