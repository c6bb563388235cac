"""Receipts' handlers and reads (`features/receipts/service.py`) on booking's unit of work in
memory (tests/support/booking_fakes.py): the card kept, a receipt issued per capture, extra
charge and refund (once, whatever the redeliveries), how it names the payment method, finance's
journal shown on it, and who may read it, without Postgres. The same on the real database:
tests/integration/test_deposits_claims.py, test_bank_debits.py and the e2e flows."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from booking.domain.errors import ErrorCode
from booking.features.receipts import service as receipts
from eventkit.routing import PermanentError
from marketplace_contracts import make_envelope
from marketplace_contracts.events.finance import JournalPostedV1, Posting
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentSplit,
    RefundSucceededV1,
)
from tests.support.booking_fakes import FakeUnitOfWork, refused

GUEST = "guest-1"
QUOTE = {"lines": [{"code": "base", "kind": "base", "amount": 9_000, "currency": "usd"}]}


@pytest.fixture
def fake() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def _booking(fake: FakeUnitOfWork, group_id: uuid.UUID | None = None, **columns: Any) -> str:
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "guest_id": GUEST,
        "group_id": group_id,
        "quote": QUOTE,
        "card_brand": None,
        "card_last4": None,
        "payment_method_type": "card",
        "payment_id": None,
        "bank_name": None,
        "bank_last4": None,
        **columns,
    }
    return str(booking_id)


def _env(event: Any) -> Any:
    return make_envelope(event, key="pay_1", producer="payments", correlation_id=uuid.uuid4())


def _authorized(booking_id: str, group_id: str | None = None) -> PaymentAuthorizedV1:
    return PaymentAuthorizedV1(
        payment_id="pay_1",
        booking_id=group_id or booking_id,
        payment_intent_id="pi_1",
        amount=10_000,
        currency="usd",
        card_brand="visa",
        card_last4="4242",
        group_id=group_id,
    )


def _split(booking_id: str, amount: int = 10_000) -> PaymentSplit:
    fee = amount // 10
    return PaymentSplit(
        booking_id=booking_id,
        host_account_id="acct_host",
        amount=amount,
        platform_fee=fee,
        host_amount=amount - fee,
        tax=fee // 5,
    )


def _captured(booking_id: str, *splits: PaymentSplit, **fields: Any) -> PaymentCapturedV2:
    splits = splits or (_split(booking_id),)
    return PaymentCapturedV2(
        payment_id=fields.pop("payment_id", "pay_1"),
        booking_id=booking_id,
        payment_intent_id="pi_1",
        charge_id="ch_1",
        amount=sum(s.amount for s in splits),
        currency="usd",
        platform_fee=sum(s.platform_fee for s in splits),
        splits=list(splits),
        **fields,
    )


def _refunded(booking_id: str, **fields: Any) -> RefundSucceededV1:
    return RefundSucceededV1(
        refund_id="rf_1",
        payment_id="pay_1",
        booking_id=booking_id,
        amount=4_000,
        currency="usd",
        platform_fee=400,
        host_amount=3_600,
        tax=80,
        host_account_id="acct_host",
        method="refund",
        cause="guest_cancellation",
        **fields,
    )


async def test_a_capture_issues_one_receipt_with_the_card_and_the_quote(
    fake: FakeUnitOfWork,
) -> None:
    uow = fake.as_uow()
    booking_id = _booking(fake)
    await receipts.remember_card(uow, _authorized(booking_id))
    captured = _captured(booking_id)
    env = _env(captured)
    await receipts.issue_for_capture(uow, env, captured, "checkout")
    await receipts.issue_for_capture(uow, _env(captured), captured, "checkout")  # redelivered
    assert list(fake.receipts.receipts) == ["rcpt_pay_1"]  # once, redelivered or not
    receipt = await receipts.document(fake.receipts, "rcpt_pay_1", GUEST)  # type: ignore[arg-type]
    assert receipt["receipt_id"] == "rcpt_pay_1" and receipt["kind"] == "payment"
    assert (receipt["booking_id"], receipt["group_id"]) == (booking_id, None)
    assert (receipt["amount"], receipt["fees"], receipt["tax"]) == (10_000, 800, 200)
    assert receipt["payment_method"] == {"brand": "visa", "last4": "4242"}
    assert receipt["lines"] == [{"booking_id": booking_id, **QUOTE["lines"][0]}]
    assert receipt["ledger"] is None
    assert fake.receipts.receipts["rcpt_pay_1"]["source_event_id"] == env.event_id
    assert fake.outbox.added == []  # receipts emit nothing


async def test_a_group_capture_is_one_receipt_with_every_legs_lines(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    group_id = uuid.uuid4()
    fake.groups.rows[group_id] = {"group_id": group_id, "guest_id": GUEST}
    legs = sorted(_booking(fake, group_id) for _ in range(2))
    await receipts.remember_card(uow, _authorized(legs[0], str(group_id)))
    assert fake.groups.rows[group_id]["card_last4"] == "4242"
    captured = _captured(str(group_id), *(_split(leg, 5_000) for leg in legs))
    captured = captured.model_copy(update={"group_id": str(group_id)})
    await receipts.issue_for_capture(uow, _env(captured), captured, "group_checkout")
    receipt = fake.receipts.receipts["rcpt_pay_1"]
    assert (receipt["booking_id"], receipt["group_id"]) == (None, group_id)
    assert [line["booking_id"] for line in receipt["lines"]] == legs
    assert [leg["booking_id"] for leg in receipt["legs"]] == legs
    assert receipt["method"] == {"brand": "visa", "last4": "4242"}


async def test_an_extra_charge_names_a_damage_claim_only(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    booking_id = _booking(fake, card_brand="visa", card_last4="4242")
    for payment_id, purpose in (("pay_claim", "deposit_claim"), ("pay_extra", "extra_charge")):
        charge = _captured(booking_id, payment_id=payment_id, charge_request_id=f"chg_{purpose}")
        await receipts.issue_for_capture(uow, _env(charge), charge, purpose)  # type: ignore[arg-type]
    claim, extra = (
        fake.receipts.receipts["rcpt_pay_claim"],
        fake.receipts.receipts["rcpt_pay_extra"],
    )
    assert claim["kind"] == extra["kind"] == "extra_charge"
    assert [line["code"] for line in claim["lines"]] == ["deposit_claim"]
    assert claim["lines"][0]["amount"] == 10_000
    assert extra["lines"] == []


async def test_no_receipt_for_an_old_capture_or_an_unknown_booking(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    booking_id = _booking(fake)
    v1 = PaymentCapturedV1.model_construct(payment_id="pay_1", booking_id=booking_id)
    await receipts.issue_for_capture(uow, _env(_captured(booking_id)), v1, "checkout")
    unknown = _captured(str(uuid.uuid4()))
    await receipts.issue_for_capture(uow, _env(unknown), unknown, "checkout")
    refund = _refunded(str(uuid.uuid4()))
    await receipts.issue_for_refund(uow, _env(refund), refund)
    assert fake.receipts.receipts == {}


async def test_a_bank_debit_is_named_by_its_bank(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    bank = {"bank_name": "STRIPE TEST BANK", "bank_last4": "6789"}
    booking_id = _booking(fake, payment_method_type="us_bank_account", payment_id="pay_1", **bank)
    captured = _captured(booking_id, payment_method_type="us_bank_account")
    await receipts.issue_for_capture(uow, _env(captured), captured, "checkout")
    refund = _refunded(booking_id)
    await receipts.issue_for_refund(uow, _env(refund), refund)
    method = {"type": "us_bank_account", "bank_name": "STRIPE TEST BANK", "last4": "6789"}
    assert [r["method"] for r in fake.receipts.receipts.values()] == [method, method]


async def test_a_refund_of_a_group_leg_names_the_groups_card(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    group_id = uuid.uuid4()
    fake.groups.rows[group_id] = {"group_id": group_id, "guest_id": GUEST}
    fake.groups.rows[group_id].update(card_brand="amex", card_last4="0005")
    leg = _booking(fake, group_id)
    captured = _captured(str(group_id), _split(leg), group_id=str(group_id))
    await receipts.issue_for_capture(uow, _env(captured), captured, "group_checkout")
    refund = _refunded(leg, group_id=str(group_id))
    await receipts.issue_for_refund(uow, _env(refund), refund)
    await receipts.issue_for_refund(uow, _env(refund), refund)  # redelivered
    receipt = fake.receipts.receipts["rcpt_rf_1"]
    assert (receipt["receipt_id"], receipt["kind"], receipt["amount"]) == (
        "rcpt_rf_1",
        "refund",
        4_000,
    )
    assert (receipt["booking_id"], receipt["group_id"]) == (uuid.UUID(leg), group_id)
    assert receipt["method"] == {"brand": "amex", "last4": "0005"}
    assert receipt["legs"] == [
        {
            "booking_id": leg,
            "host_account_id": "acct_host",
            "amount": 4_000,
            "platform_fee": 400,
            "host_amount": 3_600,
            "tax": 80,
        }
    ]


def _refund_of(booking_id: str, refund_id: str, amount: int, **fields: Any) -> RefundSucceededV1:
    fee = amount // 10
    parts = {"amount": amount, "platform_fee": fee, "host_amount": amount - fee, "tax": 0}
    return _refunded(booking_id).model_copy(update={"refund_id": refund_id, **parts, **fields})


async def test_a_refund_payments_never_makes_is_dead_lettered_and_issues_nothing(
    fake: FakeUnitOfWork,
) -> None:
    """Payments never reports one: a refund that gives back more than the payment's capture
    took (less what was refunded already), of another booking's capture, or whose parts do not
    add up is refused with the reason; one of a payment without a capture receipt, or a void
    of a payment not the booking's, gets no receipt."""
    uow = fake.as_uow()
    booking_id = _booking(fake, payment_id="pay_1", amount=10_000)
    other = _booking(fake, payment_id="pay_2", amount=10_000)
    captured = _captured(booking_id)  # 10,000
    await receipts.issue_for_capture(uow, _env(captured), captured, "checkout")
    first = _refunded(booking_id)  # 4,000
    await receipts.issue_for_refund(uow, _env(first), first)
    await receipts.issue_for_refund(uow, _env(first), first)  # redelivered: not counted twice
    refused = {
        "the capture left 6000": _refund_of(booking_id, "rf_2", 6_001),
        "paid for another booking": _refund_of(other, "rf_3", 100),
        "is not its fee": _refund_of(booking_id, "rf_4", 100, host_amount=11_475),
    }
    for why, fact in refused.items():
        with pytest.raises(PermanentError, match=why):
            await receipts.issue_for_refund(uow, _env(fact), fact)
    nothing = [
        _refund_of(booking_id, "rf_5", 100, payment_id="pay_x"),  # no capture receipt
        _refund_of(booking_id, "rf_6", 99_999, method="void"),  # more than the booking
        _refund_of(booking_id, "rf_7", 100, method="void", payment_id="pay_2"),  # not its
    ]
    for fact in nothing:
        await receipts.issue_for_refund(uow, _env(fact), fact)
    rest = _refund_of(booking_id, "rf_8", 6_000)
    void = _refund_of(other, "rf_9", 500, method="void", payment_id="pay_2")
    for fact in (rest, void):
        await receipts.issue_for_refund(uow, _env(fact), fact)
    assert sorted(fake.receipts.receipts) == ["rcpt_pay_1", "rcpt_rf_1", "rcpt_rf_8", "rcpt_rf_9"]


async def test_finances_journal_shows_on_the_receipt_for_its_guest(fake: FakeUnitOfWork) -> None:
    uow = fake.as_uow()
    booking_id = _booking(fake, card_brand="visa", card_last4="4242")
    captured = _captured(booking_id)
    env = _env(captured)
    await receipts.issue_for_capture(uow, env, captured, "checkout")
    postings = [Posting(account="asset:stripe", amount=100), Posting(account="x", amount=-100)]
    journal = JournalPostedV1(
        journal_id="jrn_1",
        kind="guest_payment_captured",
        booking_id=booking_id,
        source_event_id=str(env.event_id),
        currency="usd",
        postings=postings,
    )
    await receipts.on_journal_posted(uow, _env(journal), journal)
    again = journal.model_copy(update={"journal_id": "jrn_2"})
    await receipts.on_journal_posted(uow, _env(again), again)  # the first one stays
    shown = await receipts.document(fake.receipts, "rcpt_pay_1", GUEST)  # type: ignore[arg-type]
    assert shown["ledger"] == {
        "journal_id": "jrn_1",
        "kind": "guest_payment_captured",
        "postings": [p.model_dump() for p in postings],
    }
    assert (await receipts.document(fake.receipts, "rcpt_pay_1", None))["amount"] == 10_000  # type: ignore[arg-type]
    for receipt_id, guest in (("rcpt_pay_1", "guest-2"), ("rcpt_nope", None)):
        await refused(
            receipts.document(fake.receipts, receipt_id, guest),  # type: ignore[arg-type]
            ErrorCode.RECEIPT_NOT_FOUND,
        )
