"""The checkout's use cases (`features/checkout/service/`) on booking's unit of work in memory
(tests/support/booking_fakes.py, booking_fakes_checkout.py): placing one leg (the row it holds,
its timers, the event asking for money or signatures, and its refusals), payments' answers
(money secured) and a 3-D Secure step — without Postgres. The same saga on the real database:
tests/integration/test_request_to_book.py, test_docs_before_pay.py and tests/e2e/test_instant_book.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from booking.domain.errors import ErrorCode
from booking.domain.model import PaymentStatus, Trigger
from booking.features.checkout import service as checkout
from booking.service_layer.endings import end_booking
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY, REQUEST_EXPIRY
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.payments import PaymentActionRequiredV1, PaymentAuthorizedV1
from tests.support.booking_fakes import FakeUnitOfWork, refused

LISTING = "lst_checkout"
GUEST = "guest-checkout"
HOUR = timedelta(hours=1)
HOLD = timedelta(minutes=15)
POLICY = {"name": "flexible", "version": 1, "tiers": []}


@pytest.fixture
def fake() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.bookings.listings[LISTING] = _listing()
    return fake


def _listing(**changes: Any) -> dict[str, Any]:
    """An Instant Book listing at 60.00 an hour with a 10 % service fee, no tax."""
    listing = {
        "listing_id": LISTING,
        "host_id": "host-checkout",
        "host_account_id": "acct_checkout",
        "active": True,
        "instant_book": True,
        "currency": "usd",
        "rate_unit": "hour",
        "hourly_rate": 6_000,
        "daily_rate": None,
        "overtime_hourly_rate": 9_000,
        "min_hours": 1,
        "cleaning_fee": 0,
        "guest_service_fee_bps": 1_000,
        "platform_fee_bps": 1_000,
        "max_guests": 6,
        "extras": [],
        "tax_jurisdiction": None,
        "required_documents": [],
        "host_charges_enabled": True,
        "cancellation_policy": "flexible",
        "policy_definition": POLICY,
        "deposit_amount": 0,
        "response_window_hours": 24,
    }
    return {**listing, **changes}


def _soon() -> datetime:
    """Three days ahead, on the hour (a checkout books 15-minute slots)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)


def _cmd(start: datetime | None = None, hours: int = 3) -> checkout.PlaceBooking:
    start = start or _soon()
    return checkout.PlaceBooking(GUEST, LISTING, start, start + hours * HOUR, "pm_card_visa")


async def _place(fake: FakeUnitOfWork, cmd: checkout.PlaceBooking | None = None) -> uuid.UUID:
    view = await checkout.place_booking(fake.as_uow(), cmd or _cmd(), hold_ttl=HOLD)
    return uuid.UUID(view["booking_id"])


def _env(event: Any) -> Envelope:
    return make_envelope(
        event, key=event.booking_id, producer="payments", correlation_id=uuid.uuid4()
    )


async def _authorize(fake: FakeUnitOfWork, booking_id: uuid.UUID) -> None:
    event = PaymentAuthorizedV1.model_construct(
        payment_id="pay_checkout", booking_id=str(booking_id), group_id=None, card_last4=None
    )
    row = await fake.bookings.get_booking(booking_id, for_update=True)
    await checkout.payment_secured(
        fake.as_uow(),
        _env(event),
        row,  # type: ignore[arg-type]
        event,
        Trigger.PAYMENT_AUTHORIZED,
        PaymentStatus.AUTHORIZED,
    )


async def test_an_instant_book_holds_the_slot_starts_the_hold_and_asks_for_the_money(
    fake: FakeUnitOfWork,
) -> None:
    before = datetime.now(UTC)
    booking_id = await _place(fake)
    row = fake.bookings.bookings[booking_id]
    assert (row["status"], row["mode"], row["guest_id"]) == ("pending_payment", "instant", GUEST)
    assert (row["amount"], row["platform_fee"], row["currency"]) == (19_800, 3_600, "usd")
    assert row["policy"] == POLICY and row["respond_by"] is None
    due = fake.timers.pending[(HOLD_EXPIRY, str(booking_id))]
    assert before + HOLD <= due <= datetime.now(UTC) + HOLD
    assert fake.outbox.types == ["booking.checkout_requested"]
    [(event, meta)] = fake.outbox.added
    assert event.booking_id == str(booking_id) and event.amount == 19_800
    assert meta["key"] == str(booking_id) and meta["correlation_id"] == row["correlation_id"]


async def test_a_request_to_book_gives_the_host_a_response_window(fake: FakeUnitOfWork) -> None:
    fake.bookings.listings[LISTING] = _listing(instant_book=False, response_window_hours=4)
    booking_id = await _place(fake)
    row = fake.bookings.bookings[booking_id]
    assert (row["status"], row["mode"]) == ("pending_payment", "request")
    assert row["respond_by"] <= datetime.now(UTC) + 4 * HOUR
    assert row["respond_by"] > datetime.now(UTC) + 3 * HOUR
    assert fake.outbox.types == ["booking.checkout_requested"]


async def test_required_documents_come_before_the_payment(fake: FakeUnitOfWork) -> None:
    documents = [{"document_id": "waiver", "title": "Waiver", "text": "Yes."}]
    fake.bookings.listings[LISTING] = _listing(required_documents=documents)
    booking_id = await _place(fake)
    assert fake.bookings.bookings[booking_id]["status"] == "awaiting_signatures"
    assert fake.outbox.types == ["booking.signatures_requested"]
    [(event, _)] = fake.outbox.added
    assert event.document_ids == ["waiver"]
    assert set(fake.timers.pending) == {
        (HOLD_EXPIRY, str(booking_id)),
        (checkout.CREATE_ENVELOPE, str(booking_id)),
    }


async def test_a_slot_another_booking_holds_is_refused_and_nothing_is_written(
    fake: FakeUnitOfWork,
) -> None:
    start = _soon()
    first = await _place(fake, _cmd(start))
    await refused(_place(fake, _cmd(start + HOUR)), ErrorCode.SLOT_UNAVAILABLE)
    assert list(fake.bookings.bookings) == [first]
    assert fake.outbox.types == ["booking.checkout_requested"]
    assert list(fake.timers.pending) == [(HOLD_EXPIRY, str(first))]


async def test_the_slot_is_free_again_once_the_booking_failed(fake: FakeUnitOfWork) -> None:
    start = _soon()
    first = await _place(fake, _cmd(start))
    fake.bookings.bookings[first]["status"] = "failed"
    second = await _place(fake, _cmd(start))
    assert fake.bookings.bookings[second]["status"] == "pending_payment"


@pytest.mark.parametrize(
    ("listing", "start", "code"),
    [
        (
            {},
            datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - HOUR,
            ErrorCode.INVALID_TIME_RANGE,
        ),
        ({}, datetime.now(UTC).replace(minute=7) + timedelta(days=3), ErrorCode.INVALID_TIME_RANGE),
        ({"active": False}, None, ErrorCode.LISTING_INACTIVE),
        ({"host_charges_enabled": False}, None, ErrorCode.HOST_CANNOT_TAKE_CHARGES),
        ({"policy_definition": None}, None, ErrorCode.POLICY_UNKNOWN),
    ],
)
async def test_a_refused_checkout_writes_nothing(
    fake: FakeUnitOfWork, listing: dict[str, Any], start: datetime | None, code: ErrorCode
) -> None:
    fake.bookings.listings[LISTING] = _listing(**listing)
    await refused(_place(fake, _cmd(start)), code)
    assert fake.bookings.bookings == {}
    assert fake.outbox.added == [] and fake.timers.pending == {}


async def test_an_unknown_listing_is_refused(fake: FakeUnitOfWork) -> None:
    del fake.bookings.listings[LISTING]
    await refused(_place(fake), ErrorCode.LISTING_NOT_FOUND)


async def test_the_money_secured_confirms_an_instant_book(fake: FakeUnitOfWork) -> None:
    booking_id = await _place(fake)
    await _authorize(fake, booking_id)
    row = fake.bookings.bookings[booking_id]
    assert (row["status"], row["payment_status"], row["payment_id"]) == (
        "confirmed",
        "authorized",
        "pay_checkout",
    )
    assert row["version"] == 2
    assert fake.timers.cancelled == [(HOLD_EXPIRY, str(booking_id))]
    assert fake.timers.pending == {(COMPLETION, str(booking_id)): row["ends_at"]}
    assert fake.outbox.types == ["booking.checkout_requested", "booking.booking_confirmed"]


async def test_the_money_secured_asks_the_host_of_a_request(fake: FakeUnitOfWork) -> None:
    fake.bookings.listings[LISTING] = _listing(instant_book=False)
    booking_id = await _place(fake)
    await _authorize(fake, booking_id)
    row = fake.bookings.bookings[booking_id]
    assert row["status"] == "awaiting_host"
    assert fake.timers.pending == {(REQUEST_EXPIRY, str(booking_id)): row["respond_by"]}
    assert fake.outbox.types[-1] == "booking.host_response_requested"


async def test_the_payment_a_booking_moved_on_with_told_again_changes_nothing(
    fake: FakeUnitOfWork,
) -> None:
    """The same authorization under a new event id (the inbox cannot drop it): the booking is
    confirmed by it already; it must not be failed, nor its payment voided."""
    booking_id = await _place(fake)
    await _authorize(fake, booking_id)
    before = dict(fake.bookings.bookings[booking_id])
    await _authorize(fake, booking_id)
    assert fake.bookings.bookings[booking_id] == before
    assert fake.outbox.types == ["booking.checkout_requested", "booking.booking_confirmed"]


async def test_a_late_authorization_of_an_ended_booking_is_voided(fake: FakeUnitOfWork) -> None:
    booking_id = await _place(fake)
    fake.bookings.bookings[booking_id]["status"] = "expired"
    await _authorize(fake, booking_id)
    row = fake.bookings.bookings[booking_id]
    assert (row["status"], row["version"], row["payment_status"]) == ("expired", 1, "none")
    assert fake.outbox.types == ["booking.checkout_requested", "booking.booking_failed"]
    failed, _ = fake.outbox.added[-1]
    assert failed.reason == "booking_not_pending"
    assert fake.timers.cancelled == []


def _action_required(booking_id: uuid.UUID, name: str) -> PaymentActionRequiredV1:
    """The bank's step of payment `pay_<name>` (intent `pi_<name>`)."""
    return PaymentActionRequiredV1.model_construct(
        payment_id=f"pay_{name}",
        booking_id=str(booking_id),
        group_id=None,
        payment_intent_id=f"pi_{name}",
        action_type="use_stripe_sdk",
        client_secret=f"pi_{name}_secret",
        redirect_url=None,
    )


async def test_a_3ds_step_is_shown_only_while_the_payment_is_pending(
    fake: FakeUnitOfWork,
) -> None:
    booking_id = await _place(fake)
    event = _action_required(booking_id, "checkout")
    await checkout.on_payment_action_required(fake.as_uow(), _env(event), event)
    assert fake.bookings.bookings[booking_id]["next_action"] == {
        "type": "use_stripe_sdk",
        "client_secret": "pi_checkout_secret",
        "redirect_url": None,
        "payment_intent_id": "pi_checkout",
    }
    await _authorize(fake, booking_id)
    fake.bookings.bookings[booking_id]["next_action"] = None
    await checkout.on_payment_action_required(fake.as_uow(), _env(event), event)
    assert fake.bookings.bookings[booking_id]["next_action"] is None


async def test_a_3ds_step_the_hold_outran_names_its_payment_for_payments_to_cancel(
    fake: FakeUnitOfWork,
) -> None:
    """The guest never finishes the bank's step: the hold's booking_failed names the step's
    payment, so payments cancels the intent, and a step finished later charges nothing."""
    booking_id = await _place(fake)
    event = _action_required(booking_id, "3ds")
    await checkout.on_payment_action_required(fake.as_uow(), _env(event), event)
    row = fake.bookings.bookings[booking_id]
    assert (row["status"], row["payment_id"], row["payment_status"]) == (
        "pending_payment",
        "pay_3ds",
        "none",
    )
    await end_booking(fake.as_uow(), row, Trigger.HOLD_EXPIRED, "hold_expired", "ran out")  # type: ignore[arg-type]
    failed, _ = fake.outbox.added[-1]
    assert (failed.reason, failed.payment_id) == ("hold_expired", "pay_3ds")
