"""Read models of Linked Booking Groups: a group with its legs, as its guest and staff see it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from booking.domain.errors import BookingError, ErrorCode
from booking.features.groups.domain import GroupStatus
from booking.features.groups.repository import GroupsRepository
from booking.service_layer import disputes
from booking.service_layer.booking_views import booking_view
from booking.service_layer.rows import columns, texts


async def group_view(groups: GroupsRepository, group_id: uuid.UUID) -> dict[str, Any]:
    """The group with its legs, read through a unit of work's repository."""
    group = await groups.get(group_id)
    assert group is not None
    legs = await groups.legs(group_id)
    # The client secret is shown only while the guest can still act on it.
    pending = group["status"] == GroupStatus.PENDING_PAYMENT
    return {
        **texts(
            group,
            "group_id hold_until failed_booking_id authorization_renewed_at created_at updated_at",
        ),
        **columns(
            group,
            "status payment_status guest_id amount platform_fee currency payment_id "
            "failure_reason failure_detail version",
        ),
        "next_action": group["next_action"] if pending else None,
        "legs": [booking_view(leg) for leg in legs],
    }


async def visible_group(
    conn: asyncpg.Connection, group_id: uuid.UUID, guest_id: str | None, *, staff: bool = False
) -> dict[str, Any]:
    """The group for its guest (`guest_id`) or staff (None); 404 for anyone else. Each leg
    shows the dispute on the group's payment (details for `staff` only)."""
    groups = GroupsRepository(conn)
    group = await groups.get(group_id)
    if group is None or (guest_id is not None and group["guest_id"] != guest_id):
        raise BookingError(ErrorCode.GROUP_NOT_FOUND, f"booking group {group_id} not found")
    view = await group_view(groups, group_id)
    dispute = await disputes.dispute_of_group(conn, group, staff=staff)
    view["legs"] = [{**leg, "dispute": dispute} for leg in view["legs"]]
    return view
