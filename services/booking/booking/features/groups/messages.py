"""The integration events of Linked Booking Groups, each built by one function from the rows.

The group's use cases publish what a transition declares (`domain.py` for the group,
`booking/domain/model.py` for its legs) through `publishing.publish`; a leg's own lifecycle
events are built by `service_layer/booking_messages.py`, as a single booking's are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from booking.domain.model import BookingStatus
from marketplace_contracts.events.booking import (
    DocumentsSignedV1,
    GroupAwaitingHostsV1,
    GroupCaptureRequestedV1,
    GroupCheckoutRequestedV1,
    GroupConfirmedV1,
    GroupFailedV1,
    GroupLeg,
    LegReadyV1,
)

Row = Mapping[str, Any]


def _ids(legs: Iterable[Row]) -> list[str]:
    return [str(leg["booking_id"]) for leg in legs]


# -- the group's events ------------------------------------------------------------------------
def checkout_requested(group: Row, legs: Sequence[Row]) -> GroupCheckoutRequestedV1:
    """What a group asks payments for: one payment for the total, with every leg's share."""
    return GroupCheckoutRequestedV1(
        group_id=str(group["group_id"]),
        guest_id=group["guest_id"],
        amount=group["amount"],
        currency=group["currency"],
        platform_fee=group["platform_fee"],
        payment_method=group["payment_method"],
        save_for_later=group["save_for_later"],
        client_ip=group["client_ip"],
        user_agent=group["user_agent"],
        legs=[
            GroupLeg(
                booking_id=str(leg["booking_id"]),
                listing_id=leg["listing_id"],
                host_id=leg["host_id"],
                host_account_id=leg["host_account_id"],
                starts_at=leg["starts_at"],
                ends_at=leg["ends_at"],
                amount=leg["amount"],
                platform_fee=leg["platform_fee"],
                tax=leg["tax"],
            )
            for leg in legs
        ],
    )


def awaiting_hosts(group: Row, payment_id: str, legs: Sequence[Row]) -> GroupAwaitingHostsV1:
    waiting = [leg for leg in legs if leg["status"] == BookingStatus.AWAITING_HOST]
    return GroupAwaitingHostsV1(
        group_id=str(group["group_id"]), payment_id=payment_id, booking_ids=_ids(waiting)
    )


def capture_requested(group: Row, payment_id: str) -> GroupCaptureRequestedV1:
    return GroupCaptureRequestedV1(
        group_id=str(group["group_id"]),
        payment_id=payment_id,
        amount=group["amount"],
        currency=group["currency"],
    )


def confirmed(group: Row, payment_id: str, legs: Sequence[Row]) -> GroupConfirmedV1:
    return GroupConfirmedV1(
        group_id=str(group["group_id"]),
        payment_id=payment_id,
        booking_ids=_ids(legs),
        amount=group["amount"],
        currency=group["currency"],
    )


def failed(
    group: Row,
    payment_id: str | None,
    legs: Sequence[Row],
    reason: str,
    detail: str,
    failed_booking_id: uuid.UUID | None = None,
) -> GroupFailedV1:
    """booking.group_failed: payments voids the group's authorization on it."""
    return GroupFailedV1(
        group_id=str(group["group_id"]),
        payment_id=payment_id,
        reason=reason,
        detail=detail,
        failed_booking_id=str(failed_booking_id) if failed_booking_id else None,
        booking_ids=_ids(legs),
    )


# -- its legs' events --------------------------------------------------------------------------
def documents_signed(leg: Row, envelope_id: str | None) -> DocumentsSignedV1:
    return DocumentsSignedV1(
        booking_id=str(leg["booking_id"]), group_id=str(leg["group_id"]), envelope_id=envelope_id
    )


def leg_ready(leg: Row, cause: str) -> LegReadyV1:
    return LegReadyV1(booking_id=str(leg["booking_id"]), group_id=str(leg["group_id"]), cause=cause)
