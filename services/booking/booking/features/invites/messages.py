"""The integration events of Smart Invites, one builder each."""

from __future__ import annotations

import uuid
from typing import Any

from booking.features.invites.domain import Invite
from booking.service_layer.rows import columns
from marketplace_contracts.events.booking import InviteClosedV1, InvitedExtra, InviteSentV1


def invite_sent(invite: dict[str, Any]) -> InviteSentV1:
    return InviteSentV1(
        invite_id=str(invite["invite_id"]),
        **columns(
            invite, "host_id guest_id listing_id starts_at ends_at amount currency expires_at"
        ),
        extras=[InvitedExtra(**extra) for extra in invite["extras"]],
    )


def invite_closed(invite: Invite, booking_id: uuid.UUID | None) -> InviteClosedV1:
    return InviteClosedV1(
        invite_id=str(invite.invite_id),
        outcome=invite.status.value,
        booking_id=str(booking_id) if booking_id else None,
    )
