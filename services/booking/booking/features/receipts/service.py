"""Receipts: one per captured payment, extra charge (amendment, overtime) and refund.

Issued by booking from payments' facts (the amounts, fees, tax and per-leg splits that payments
recorded) and completed with finance's journal for the same fact (`ledger`), so no amount is
recomputed here. The line items are the booking's quote as snapshotted, for the guest to read.

The handlers take booking's unit of work (the SQL is `repository.py`'s, `uow.receipts`); the
reads take a connection and build the repository on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode

# Bank debits' pure rules (another feature's domain, which imports nothing back).
from booking.features.bank_debits import domain as bank_debits
from booking.features.bank_debits.domain import US_BANK_ACCOUNT
from booking.features.receipts.repository import ReceiptsRepository
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import JournalPostedV1
from marketplace_contracts.events.payments import (
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentMethodSavedV1,
    RefundSucceededV1,
)
from marketplace_contracts.purposes import PaymentPurpose


async def remember_card(
    uow: UnitOfWork, event: PaymentAuthorizedV1 | PaymentMethodSavedV1 | PaymentCapturedV2
) -> None:
    """The card's brand and last 4 digits, for receipts (a group's, or a booking's; a capture
    names it when the card was charged at checkout)."""
    if event.card_last4 is None:
        return
    await uow.receipts.save_card(
        booking_id=event.booking_id,
        group_id=event.group_id,
        brand=event.card_brand,
        last4=event.card_last4,
    )


def _lines(legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"booking_id": str(leg["booking_id"]), **line}
        for leg in legs
        if leg["quote"]
        for line in leg["quote"]["lines"]
    ]


async def issue_for_capture(
    uow: UnitOfWork,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    purpose: PaymentPurpose,
    booking: Mapping[str, Any] | None = None,
) -> None:
    """The guest's receipt of a capture; `purpose` is what the payment was for (the fact's,
    `payment_facts`): a damage claim's receipt has a line naming it. `booking`: the single
    booking's row, when the caller holds it locked (a charge at checkout, whose card the event
    names), saves reading it again."""
    if not isinstance(event, PaymentCapturedV2):
        return  # v1 captures predate receipts
    group_id = event.group_id
    owner: dict[str, Any] | None
    if booking is not None and group_id is None and event.card_last4 is not None:
        owner = {**booking, "card_brand": event.card_brand, "card_last4": event.card_last4}
        legs = [owner]
    else:
        owner, legs = await uow.receipts.payer(event.booking_id, group_id)
    if owner is None:
        return
    extra = event.charge_request_id is not None
    tax = sum(split.tax for split in event.splits)
    await uow.receipts.insert(
        {
            "receipt_id": f"rcpt_{event.payment_id}",
            "kind": "extra_charge" if extra else "payment",
            "guest_id": owner["guest_id"],
            "booking_id": None if group_id else uuid.UUID(event.booking_id),
            "group_id": uuid.UUID(group_id) if group_id else None,
            "payment_id": event.payment_id,
            "amount": event.amount,
            "currency": event.currency,
            "platform_fee": event.platform_fee,
            "tax": tax,
            "legs": [split.model_dump() for split in event.splits],
            "method": (
                await _bank_method(uow, event.booking_id, event.payment_id)
                if event.payment_method_type == US_BANK_ACCOUNT and not group_id
                else None
            )
            or {"brand": owner["card_brand"], "last4": owner["card_last4"]},
            "lines": _extra_lines(event, purpose) if extra else _lines(legs),
            "source_event_id": env.event_id,
        },
    )


async def _refund_checked(uow: UnitOfWork, event: RefundSucceededV1, receipt_id: str) -> bool:
    """Whether the refund gets a receipt; raises PermanentError for what payments never says."""
    if event.method != "refund":
        paid = await uow.receipts.paid_by(event.booking_id)
        return paid is not None and event.payment_id in paid[1] and event.amount <= paid[0]
    about = f"refund {event.refund_id} of payment {event.payment_id}"
    if event.platform_fee + event.host_amount != event.amount:
        raise PermanentError(
            f"{about}: {event.amount} is not its fee {event.platform_fee} plus its host "
            f"amount {event.host_amount}"
        )
    capture = await uow.receipts.refundable(event.payment_id, receipt_id)
    if capture is None:
        return False
    mine = str(capture["booking_id"]) == event.booking_id or (
        capture["group_id"] is not None and str(capture["group_id"]) == event.group_id
    )
    if not mine:
        raise PermanentError(f"{about}: that payment paid for another booking")
    captured, refunded = capture["amount"], capture["refunded"]
    if refunded + event.amount > captured:
        raise PermanentError(
            f"{about} gives back {event.amount}, of which the capture left "
            f"{captured - refunded} (captured {captured}, refunded {refunded})"
        )
    return True


def _extra_lines(event: PaymentCapturedV2, purpose: PaymentPurpose) -> list[dict[str, Any]]:
    """An extra charge has no quoted lines, except a damage claim's: one line naming it."""
    if purpose != "deposit_claim":
        return []
    return [
        {
            "booking_id": event.booking_id,
            "code": "deposit_claim",
            "kind": "deposit_claim",
            "description": "Damage claim charged against the security deposit",
            "amount": event.amount,
            "currency": event.currency,
        }
    ]


async def issue_for_refund(uow: UnitOfWork, env: Envelope, event: RefundSucceededV1) -> None:
    """The guest's receipt of a refund, for a refund payments made: one of a captured payment
    gives back part of what the receipt of that capture (for this booking, or its group) took;
    a void or a smaller capture, part of a payment of this booking. What payments never
    reports (a forged or corrupted fact) issues nothing: a refund beyond its capture, of
    another booking's capture, or whose parts do not add up is dead-lettered with the reason."""
    receipt_id = f"rcpt_{event.refund_id}"
    if not await _refund_checked(uow, event, receipt_id):
        return
    owner, _ = await uow.receipts.payer(event.booking_id, None)
    if owner is None:
        return
    await uow.receipts.insert(
        {
            "receipt_id": receipt_id,
            "kind": "refund",
            "guest_id": owner["guest_id"],
            "booking_id": uuid.UUID(event.booking_id),
            "group_id": uuid.UUID(event.group_id) if event.group_id else None,
            "payment_id": event.payment_id,
            "amount": event.amount,
            "currency": event.currency,
            "platform_fee": event.platform_fee,
            "tax": event.tax,
            "legs": [
                {
                    "booking_id": event.booking_id,
                    "host_account_id": event.host_account_id,
                    "amount": event.amount,
                    "platform_fee": event.platform_fee,
                    "host_amount": event.host_amount,
                    "tax": event.tax,
                }
            ],
            "method": await _bank_method(uow, event.booking_id, event.payment_id)
            or {"brand": owner["card_brand"], "last4": owner["card_last4"]},
            "lines": [],
            "source_event_id": env.event_id,
        },
    )


async def _bank_method(uow: UnitOfWork, booking_id: str, payment_id: str) -> dict[str, Any] | None:
    """The bank account a bank-debit payment was taken from (None if it is not one)."""
    row = await uow.receipts.bank_account(booking_id)
    if row is None or row["payment_method_type"] != US_BANK_ACCOUNT:
        return None
    if row["payment_id"] not in (None, payment_id):
        return None
    return bank_debits.receipt_method(row["bank_name"], row["bank_last4"])


async def on_journal_posted(uow: UnitOfWork, env: Envelope, event: JournalPostedV1) -> None:
    """Finance's journal for a payment fact: shown on that fact's receipt as its ledger."""
    await uow.receipts.record_journal(
        uuid.UUID(event.source_event_id),
        event.journal_id,
        event.kind,
        [p.model_dump() for p in event.postings],
    )


def receipt_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A receipt as the API shows it (its row with the journal's columns)."""
    return {
        "receipt_id": row["receipt_id"],
        "kind": row["kind"],
        "issued_at": row["issued_at"].isoformat(),
        "guest_id": row["guest_id"],
        "booking_id": str(row["booking_id"]) if row["booking_id"] else None,
        "group_id": str(row["group_id"]) if row["group_id"] else None,
        "payment_id": row["payment_id"],
        "currency": row["currency"],
        "amount": row["amount"],
        "fees": row["platform_fee"] - row["tax"],
        "tax": row["tax"],
        "payment_method": row["method"],
        "legs": row["legs"],
        "lines": row["lines"],
        "ledger": {
            "journal_id": row["journal_id"],
            "kind": row["journal_kind"],
            "postings": row["postings"],
        }
        if row["journal_id"]
        else None,
    }


async def get_for(
    conn: asyncpg.Connection, receipt_id: str, guest_id: str | None
) -> dict[str, Any]:
    """The receipt for the guest who paid (or an admin: `guest_id` None); 404 otherwise."""
    return await document(ReceiptsRepository(conn), receipt_id, guest_id)


async def document(
    receipts: ReceiptsRepository, receipt_id: str, guest_id: str | None
) -> dict[str, Any]:
    """`get_for`, read through a unit of work's repository."""
    row = await receipts.receipt(receipt_id)
    if row is None or (guest_id is not None and row["guest_id"] != guest_id):
        raise BookingError(ErrorCode.RECEIPT_NOT_FOUND, f"receipt {receipt_id} not found")
    return receipt_view(row)
