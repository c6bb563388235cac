"""The integration events of amendments: one builder per event type, and `publish`, which
writes to the outbox exactly the events a transition declared (`Outcome.emits`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from booking.features.amendments.domain import (
    CHARGE_EVENT,
    DECIDED_EVENT,
    PROPOSED_EVENT,
    SIGNATURES_EVENT,
    Amendment,
    AmendmentKind,
    Outcome,
)
from booking.service_layer import publishing
from booking.service_layer.publishing import Builders, Cause
from marketplace_contracts.events.booking import (
    AmendmentDecidedV1,
    AmendmentProposedV1,
    ChargeRequestedV1,
    RefundLine,
    RefundRequest,
    SignaturesRequestedV1,
)

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork


def charge_request_id(amendment_id: uuid.UUID | str) -> str:
    return f"chg_{amendment_id}"


def proposed(am: Amendment) -> AmendmentProposedV1:
    return AmendmentProposedV1(
        amendment_id=str(am.amendment_id),
        booking_id=str(am.booking_id),
        kind=am.kind.value,
        proposed_by=am.proposed_by.value,
        starts_at=am.terms.starts_at,
        ends_at=am.terms.ends_at,
        guests=am.terms.guests,
        extras=am.terms.extras,
        delta=am.delta,
        currency=am.currency,
        respond_by=am.respond_by,
    )


def refund_request(am: Amendment, booking: Mapping[str, Any]) -> RefundRequest | None:
    """An applied decrease gives the difference back from the booking's payment."""
    change = am.change()
    if change.amount >= 0 or not booking["payment_id"]:
        return None
    return RefundRequest(
        refund_id=f"rf_{am.amendment_id}",
        payment_id=booking["payment_id"],
        amount=-change.amount,
        currency=booking["currency"],
        platform_fee=-change.platform_fee,
        host_amount=-change.host_amount,
        tax=-change.tax,
        host_account_id=booking["host_account_id"],
        lines=[
            RefundLine(code=code, amount=-amount) for code, amount in change.lines if amount < 0
        ],
    )


def decided(am: Amendment, outcome: Outcome, refund: RefundRequest | None) -> AmendmentDecidedV1:
    return AmendmentDecidedV1(
        amendment_id=str(am.amendment_id),
        booking_id=str(am.booking_id),
        outcome=outcome.status.value,
        delta=am.delta,
        currency=am.currency,
        refund=refund,
        reason=outcome.reason,
    )


def charge_requested(am: Amendment, booking: Mapping[str, Any]) -> ChargeRequestedV1:
    change = am.change()
    return ChargeRequestedV1(
        charge_request_id=charge_request_id(am.amendment_id),
        booking_id=str(am.booking_id),
        group_id=str(booking["group_id"]) if booking["group_id"] else None,
        payment_id=booking["payment_id"],
        amount=change.amount,
        currency=booking["currency"],
        platform_fee=change.platform_fee,
        tax=change.tax,
        host_account_id=booking["host_account_id"],
        reason="overtime" if am.kind == AmendmentKind.OVERTIME else "amendment",
        subject_id=str(am.amendment_id),
    )


def signatures_requested(
    am: Amendment, booking: Mapping[str, Any], document_ids: Sequence[str]
) -> SignaturesRequestedV1:
    """The listing's documents and the amendment itself, signed by `respond_by`."""
    return SignaturesRequestedV1(
        booking_id=str(am.booking_id),
        guest_id=booking["guest_id"],
        listing_id=booking["listing_id"],
        document_ids=[*document_ids, f"amendment-{am.amendment_id}"],
        sign_by=am.respond_by,
        group_id=str(booking["group_id"]) if booking["group_id"] else None,
    )


async def publish(
    uow: UnitOfWork,
    outcome: Outcome,
    am: Amendment,
    booking: Mapping[str, Any],
    *,
    refund: RefundRequest | None = None,
    document_ids: Sequence[str] = (),
    causation_id: uuid.UUID | None = None,
) -> None:
    """Each event `outcome` declares, built from the amendment and its booking."""
    builders: Builders = {
        PROPOSED_EVENT: lambda: proposed(am),
        DECIDED_EVENT: lambda: decided(am, outcome, refund),
        CHARGE_EVENT: lambda: charge_requested(am, booking),
        SIGNATURES_EVENT: lambda: signatures_requested(am, booking, document_ids),
    }
    cause = Cause(am.correlation_id, causation_id)
    await publishing.publish(uow, outcome.emits, builders, key=str(am.booking_id), cause=cause)
