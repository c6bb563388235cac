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
from booking.service_layer.rows import columns
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
        **columns(
            group,
            "guest_id amount currency platform_fee payment_method save_for_later client_ip "
            "user_agent",
        ),
        legs=[
            GroupLeg(
                booking_id=str(leg["booking_id"]),
                **columns(
                    leg,
                    "listing_id host_id host_account_id starts_at ends_at amount platform_fee tax",
                ),
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
        group_id=str(group["group_id"]), payment_id=payment_id, **columns(group, "amount currency")
    )


def confirmed(group: Row, payment_id: str, legs: Sequence[Row]) -> GroupConfirmedV1:
    return GroupConfirmedV1(
        group_id=str(group["group_id"]),
        payment_id=payment_id,
        booking_ids=_ids(legs),
        **columns(group, "amount currency"),
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
