"""Booking routes payments' facts on what they say they are about (purpose, cause, subject);
a fact from before those fields existed still reaches the same feature."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest

from booking.entrypoints.consumers import on_uow
from booking.features.amendments import service as amendments
from booking.features.cancellations import service as cancellations
from booking.features.claims import service as claims
from booking.features.receipts import service as receipts
from booking.service_layer import payment_facts
from booking.service_layer.handlers import BookingHandlers
from eventkit.outbox import Outbox
from marketplace_contracts import make_envelope
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentSplit,
    RefundFailedV1,
    RefundSucceededV1,
)

BOOKING = "6f1c2a4e-0b8d-4c3e-9a57-2d1e8f4b7c01"  # fixed: a test id names it (xdist)
GROUP = "9a0e7b3d-5c21-4f6a-8e94-1b7c3d2e5f02"
SUBJECT = uuid.UUID("3c8d5e1f-7a42-4b9c-b6e0-4f2a9d1c8e03")


def captured(**fields: Any) -> PaymentCapturedV2:
    split = PaymentSplit(
        booking_id=BOOKING,
        host_account_id="acct_1",
        amount=1_000,
        platform_fee=100,
        host_amount=900,
    )
    base: dict[str, Any] = {
        "payment_id": "pay_1",
        "booking_id": BOOKING,
        "payment_intent_id": "pi_1",
        "charge_id": "ch_1",
        "amount": 1_000,
        "currency": "usd",
        "platform_fee": 100,
        "splits": [split],
    }
    return PaymentCapturedV2.model_validate({**base, **fields})


def failed(**fields: Any) -> PaymentFailedV1:
    base = {"payment_id": "pay_1", "booking_id": BOOKING, "code": "card_declined"}
    return PaymentFailedV1.model_validate({**base, **fields})


# What a refund's facts have in common, succeeded or failed.
REFUND: dict[str, Any] = {
    "refund_id": f"rf_{BOOKING}_cancel",
    "payment_id": "pay_1",
    "booking_id": BOOKING,
    "amount": 500,
    "currency": "usd",
}


def refunded(**fields: Any) -> RefundSucceededV1:
    outcome = {"platform_fee": 50, "host_amount": 450, "host_account_id": "acct_1"}
    return RefundSucceededV1.model_validate({**REFUND, **outcome, "method": "refund", **fields})


def refund_failed(**fields: Any) -> RefundFailedV1:
    outcome = {"code": "api_error", "attempts": 4}
    return RefundFailedV1.model_validate({**REFUND, **outcome, **fields})


async def deliver(handle: Any, fact: Any) -> None:
    """`handle` (a consumer's handler) given `fact` in an envelope, as the consumer calls it."""
    env = make_envelope(fact, key="pay_1", producer="payments", correlation_id=uuid.uuid4())
    await handle(cast(Any, None), env, fact, None)


# -- what a fact is about ------------------------------------------------------------------


# A fact that says its purpose (and subject) is about what it says.
BY_PURPOSE = [
    ({"purpose": "checkout"}, "checkout", None),
    ({"purpose": "group_checkout", "group_id": GROUP}, "group_checkout", None),
    (
        {"purpose": "extra_charge", "subject_id": str(SUBJECT), "charge_request_id": "x"},
        "extra_charge",
        SUBJECT,
    ),
    (
        {"purpose": "deposit_claim", "subject_id": str(SUBJECT), "charge_request_id": "y"},
        "deposit_claim",
        SUBJECT,
    ),
]
# A legacy fact is told apart by its ids.
BY_IDS = [
    ({}, "checkout", None),
    ({"group_id": GROUP}, "group_checkout", None),
    ({"charge_request_id": f"chg_{SUBJECT}"}, "extra_charge", SUBJECT),
    ({"charge_request_id": f"clm_{SUBJECT}"}, "deposit_claim", SUBJECT),
    ({"charge_request_id": f"clm_{SUBJECT}_2"}, "deposit_claim", SUBJECT),
    # Facts of the months when payments said the purpose but not yet the subject.
    (
        {"purpose": "extra_charge", "charge_request_id": f"chg_{SUBJECT}"},
        "extra_charge",
        SUBJECT,
    ),
    (
        {"purpose": "deposit_claim", "charge_request_id": f"clm_{SUBJECT}"},
        "deposit_claim",
        SUBJECT,
    ),
]


@pytest.mark.parametrize(("fields", "purpose", "subject"), BY_PURPOSE + BY_IDS)
def test_a_payment_fact_is_about_its_purpose_and_subject_or_else_its_ids(
    fields: dict[str, Any], purpose: str, subject: uuid.UUID | None
) -> None:
    expected = payment_facts.PaymentAbout(purpose, subject)  # type: ignore[arg-type]
    assert payment_facts.payment_about(captured(**fields)) == expected
    assert payment_facts.payment_about(failed(**fields)) == expected


def test_the_purpose_wins_over_the_shape_of_the_charge_request_id() -> None:
    """A charge request id is booking's to choose: a new shape does not change the route."""
    fact = captured(purpose="extra_charge", subject_id=str(SUBJECT), charge_request_id="clm_x")
    assert payment_facts.payment_about(fact).purpose == "extra_charge"


def test_a_payment_captured_v1_is_a_checkout() -> None:
    v1 = PaymentCapturedV1(
        payment_id="pay_1",
        booking_id=BOOKING,
        payment_intent_id="pi_1",
        charge_id="ch_1",
        amount=1_000,
        currency="usd",
        platform_fee=100,
        host_amount=900,
        host_account_id="a",
    )
    assert payment_facts.payment_about(v1) == payment_facts.PaymentAbout("checkout")


@pytest.mark.parametrize(
    ("fields", "concern", "subject"),
    [
        ({"cause": "guest_cancellation"}, "cancellation", None),
        ({"cause": "host_cancellation", "refund_id": "rf_anything"}, "cancellation", None),
        ({"cause": "admin_cancellation"}, "cancellation", None),
        ({"cause": "group_leg_cancelled"}, "cancellation", None),
        (
            {"cause": "amendment", "subject_id": str(SUBJECT), "refund_id": "r"},
            "amendment",
            SUBJECT,
        ),
        ({"cause": "deposit_release", "refund_id": f"rf_{SUBJECT}"}, "none", None),
        ({"cause": "checkout_failed", "refund_id": f"rf_{SUBJECT}"}, "checkout", None),
        # Legacy: no cause, `other`, or an amendment's refund without its subject.
        ({}, "cancellation", None),
        ({"refund_id": f"rf_{BOOKING}_cancel_1"}, "cancellation", None),
        ({"cause": "other"}, "cancellation", None),
        ({"refund_id": f"rf_{SUBJECT}"}, "amendment", SUBJECT),
        ({"cause": "amendment", "refund_id": f"rf_{SUBJECT}"}, "amendment", SUBJECT),
        ({"cause": "other", "refund_id": "rf_not_ours"}, "none", None),
    ],
)
def test_a_refund_fact_is_about_its_cause_or_else_its_id(
    fields: dict[str, Any], concern: str, subject: uuid.UUID | None
) -> None:
    expected = payment_facts.RefundAbout(concern, subject)  # type: ignore[arg-type]
    assert payment_facts.refund_about(refunded(**fields)) == expected
    assert payment_facts.refund_about(refund_failed(**fields)) == expected


# -- the consumer's routes -----------------------------------------------------------------


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def recorder(self, name: str, result: Any = None) -> Any:
        async def record(*args: Any, **_options: Any) -> Any:
            self.seen.append((name, args[-1]))
            return result

        return record


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> tuple[BookingHandlers, Calls]:
    calls = Calls()
    handlers = BookingHandlers(cast(Outbox, object()))
    monkeypatch.setattr(receipts, "issue_for_capture", calls.recorder("receipt"))
    for module, prefix in ((claims, "claim"), (amendments, "amendment")):
        monkeypatch.setattr(module, "on_charge_captured", calls.recorder(f"{prefix}.captured"))
        monkeypatch.setattr(module, "on_charge_failed", calls.recorder(f"{prefix}.failed"))
    monkeypatch.setattr(handlers.groups, "on_payment_captured", calls.recorder("group.captured"))
    monkeypatch.setattr(handlers.groups, "on_payment_failed", calls.recorder("group.failed"))

    # A checkout's capture stops at the bank-debit module (True: it applied it).
    async def checkout_captured(uow: Any, env: Any, event: Any, row: Any) -> bool:
        calls.seen.append(("checkout.captured", event.booking_id))
        return True

    monkeypatch.setattr(handlers.bank_debits, "on_payment_captured", checkout_captured)

    async def load(uow: Any, booking_id: str) -> dict[str, str]:
        calls.seen.append(("checkout.loaded", booking_id))
        # Neither pending nor confirmed, its payment not captured: nothing more to do.
        return {"status": "cancelled", "payment_status": "authorized"}

    monkeypatch.setattr(handlers, "_load", load)
    return handlers, calls


ROUTES = [
    ({"purpose": "checkout"}, "checkout", BOOKING),
    ({"purpose": "group_checkout", "group_id": GROUP}, "group", None),
    ({"purpose": "extra_charge", "subject_id": str(SUBJECT)}, "amendment", SUBJECT),
    ({"purpose": "deposit_claim", "subject_id": str(SUBJECT)}, "claim", SUBJECT),
    ({}, "checkout", BOOKING),
    ({"group_id": GROUP}, "group", None),
    ({"charge_request_id": f"chg_{SUBJECT}"}, "amendment", SUBJECT),
    ({"charge_request_id": f"clm_{SUBJECT}_3"}, "claim", SUBJECT),
]


@pytest.mark.parametrize("outcome", ["captured", "failed"])
@pytest.mark.parametrize(("fields", "feature", "subject"), ROUTES)
async def test_a_capture_or_failure_goes_to_the_feature_it_is_about(
    routed: tuple[BookingHandlers, Calls],
    outcome: str,
    fields: dict[str, Any],
    feature: str,
    subject: Any,
) -> None:
    handlers, calls = routed
    fact: Any = captured(**fields) if outcome == "captured" else failed(**fields)
    await deliver(on_uow(handlers.outbox, getattr(handlers, f"on_payment_{outcome}")), fact)
    # Only a capture issues a receipt (first); then the one feature the fact is about.
    receipt = [("receipt", payment_facts.payment_about(fact).purpose)]
    route = [(f"{feature}.{outcome}", subject if subject is not None else fact)]
    if feature == "checkout" and outcome == "failed":  # the booking loaded (locked): no more
        route = [("checkout.loaded", subject)]
    if feature == "checkout" and outcome == "captured":
        # Loaded (locked) first: a card's charge at checkout confirms it (this one, cancelled,
        # is not reached by one), then the receipt.
        receipt = [("checkout.loaded", subject), *receipt]
    assert calls.seen == (receipt if outcome == "captured" else []) + route


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
@pytest.mark.parametrize(
    ("fields", "route"),
    [
        ({"cause": "guest_cancellation"}, ("cancellation", BOOKING)),
        (
            {"cause": "amendment", "subject_id": str(SUBJECT), "refund_id": "r"},
            ("amendment", SUBJECT),
        ),
        ({"cause": "deposit_release", "refund_id": f"rf_{SUBJECT}"}, None),
        ({}, ("cancellation", BOOKING)),
        ({"refund_id": f"rf_{SUBJECT}"}, ("amendment", SUBJECT)),
    ],
)
async def test_a_refund_outcome_goes_to_the_cancellation_or_amendment_it_is_about(
    monkeypatch: pytest.MonkeyPatch, outcome: str, fields: dict[str, Any], route: Any
) -> None:
    seen: list[tuple[str, Any]] = []

    async def amendment_refund(conn: Any, amendment_id: uuid.UUID, *_: Any) -> None:
        seen.append(("amendment", amendment_id))

    async def get_booking(conn: Any, booking_id: uuid.UUID, **_: Any) -> None:
        seen.append(("cancellation", str(booking_id)))  # None: the booking's row is not read on

    async def no_receipt(*_: Any) -> None:
        return None

    monkeypatch.setattr(cancellations.amendments, "on_refund_succeeded", amendment_refund)
    monkeypatch.setattr(cancellations.amendments, "on_refund_failed", amendment_refund)
    monkeypatch.setattr(cancellations.repository, "get_booking", get_booking)
    monkeypatch.setattr(receipts, "issue_for_refund", no_receipt)
    if outcome == "succeeded":
        fact: Any = refunded(**fields)
        handle: Any = on_uow(
            Outbox("booking", producer="booking"), cancellations.on_refund_succeeded
        )
    else:
        fact, handle = (
            refund_failed(**fields),
            on_uow(Outbox("booking", producer="booking"), cancellations.on_refund_failed),
        )
    await deliver(handle, fact)
    assert seen == ([route] if route else [])
