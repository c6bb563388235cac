"""Linked Booking Groups' durable timer: `group_hold_expiry` (the kind is domain vocabulary,
`domain.py`) fails a group not signed and paid for when its checkout hold runs out.
Registered by `booking.bootstrap` over the consumer's `GroupPayments`."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from booking.features.groups import repository as groups_repository
from booking.features.groups.domain import GROUP_HOLD_EXPIRY, Group, GroupTrigger
from booking.features.groups.service import Failure, GroupPayments

__all__ = ["GROUP_HOLD_EXPIRY", "expire_hold"]


async def expire_hold(
    groups: GroupPayments, conn: asyncpg.Connection, group_id: str, _payload: dict[str, object]
) -> datetime | None:
    """Durable timer: documents unsigned or payment not secured when the hold ran out
    (a payment request still in flight at payments is waited for: domain/holds.py)."""
    group = await groups_repository.get_group(conn, uuid.UUID(group_id), for_update=True)
    if group is None or not Group.of(group).expects(GroupTrigger.HOLD_EXPIRED):
        return None
    if (later := groups.hold_rule.look_again_at(group)) is not None:
        return later
    legs = await groups_repository.group_legs(conn, group["group_id"], for_update=True)
    failure = Failure(
        GroupTrigger.HOLD_EXPIRED,
        "hold_expired",
        "the group was not signed and paid for before the checkout hold ran out",
    )
    await groups.fail(conn, group, legs, failure)
    return None
