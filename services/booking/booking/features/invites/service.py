"""Smart Invite use cases. Each runs in one transaction with its outbox event.

Accepting places an ordinary checkout at the invited price (Instant Book), so the payment saga
is the one every booking uses; the invite keeps the resulting booking id. The rules are the
`Invite` aggregate's (`domain.py`), the SQL is `repository.py`'s (reached through booking's
unit of work, which every use case takes: its timers and outbox too), the events are built in
`messages.py` and the read model in `views.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.quote import Pricing, quote

# Another feature: through its service.
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.invites.domain import (
    INVITE_EXPIRY,
    INVITE_INITIAL,
    Invite,
    InviteExtra,
    InviteStatus,
    InviteStep,
)
from booking.features.invites.messages import invite_closed, invite_sent
from booking.features.invites.views import document
from booking.service_layer.publishing import Cause, publish
from booking.service_layer.unit_of_work import UnitOfWork
from domainkit.ids import new_uuid
from eventkit.rows import expect_changed
from marketplace_contracts.events.booking import InviteClosedV1

__all__ = [
    "InviteExtra",
    "SendInvite",
    "accept",
    "close",
    "decline",
    "expire",
    "load",
    "send",
    "withdraw",
]


@dataclass(frozen=True)
class SendInvite:
    host_id: str
    guest_id: str
    listing_id: str
    starts_at: datetime
    ends_at: datetime
    amount: int | None  # the price for the time; None: the listing's own price
    expires_at: datetime
    note: str = ""
    extras: tuple[InviteExtra, ...] = ()


# -- use cases ----------------------------------------------------------------------------------
async def send(uow: UnitOfWork, cmd: SendInvite) -> dict[str, Any]:
    listing = await uow.bookings.get_listing(cmd.listing_id)
    if listing is None or listing["host_id"] != cmd.host_id:
        raise BookingError(ErrorCode.LISTING_NOT_FOUND, f"listing {cmd.listing_id} not found")
    Invite.check_terms(datetime.now(UTC), cmd.starts_at, cmd.expires_at)
    # The listed price: the stay, cleaning and service fee (the host may invite for less than
    # the listing's minimum). An invited price is all-inclusive.
    listed = quote(
        replace(Pricing.of_listing(listing, []), min_units=0), cmd.starts_at, cmd.ends_at
    ).total
    price = cmd.amount if cmd.amount is not None else listed
    invite = {
        "invite_id": new_uuid(),
        "host_id": cmd.host_id,
        "guest_id": cmd.guest_id,
        "listing_id": cmd.listing_id,
        "starts_at": cmd.starts_at,
        "ends_at": cmd.ends_at,
        # The invited total: the price for the time plus every extra.
        "amount": Invite.total(price, cmd.extras, listing["currency"]),
        "currency": listing["currency"],
        "expires_at": cmd.expires_at,
        "note": cmd.note,
        "correlation_id": new_uuid(),
        "extras": [
            {
                "name": e.name,
                "unit_amount": e.unit_amount,
                "quantity": e.quantity,
                "amount": e.amount,
            }
            for e in cmd.extras
        ],
    }
    await uow.invites.insert(invite)
    invite_id = str(invite["invite_id"])
    await uow.timers.schedule(INVITE_EXPIRY, invite_id, cmd.expires_at)
    _, _, sent = INVITE_INITIAL
    built = {sent: lambda: invite_sent(invite)}
    cause = Cause(invite["correlation_id"])
    await publish(uow, (sent,), built, key=invite_id, cause=cause)
    return await document(uow.invites, invite["invite_id"])


async def accept(
    uow: UnitOfWork,
    invite_id: uuid.UUID,
    guest_id: str,
    payment_method: str,
    hold_ttl: timedelta,
    client: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """`client`: the guest's (IP address, User-Agent), kept on the checkout as evidence."""
    row, invite = await load(uow, invite_id, guest_id=guest_id)
    step = invite.accept(datetime.now(UTC))
    booking = await place_booking(
        uow,
        PlaceBooking(
            guest_id,
            row["listing_id"],
            row["starts_at"],
            row["ends_at"],
            payment_method,
            invited_amount=row["amount"],
            correlation_id=row["correlation_id"],
            client_ip=client[0],
            user_agent=client[1],
        ),
        hold_ttl,
    )
    await close(uow, row, invite, step, uuid.UUID(booking["booking_id"]))
    return booking


async def decline(uow: UnitOfWork, invite_id: uuid.UUID, guest_id: str) -> dict[str, Any]:
    row, invite = await load(uow, invite_id, guest_id=guest_id)
    await close(uow, row, invite, invite.decline())
    return await document(uow.invites, invite_id)


async def withdraw(uow: UnitOfWork, invite_id: uuid.UUID, host_id: str | None) -> dict[str, Any]:
    row, invite = await load(uow, invite_id, host_id=host_id)
    await close(uow, row, invite, invite.withdraw())
    return await document(uow.invites, invite_id)


async def close(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    invite: Invite,
    step: InviteStep,
    booking_id: uuid.UUID | None = None,
) -> None:
    """Write the invite's step (compare-and-set on the version read under its lock) and
    publish exactly the events its transition declares."""
    changed = await uow.invites.close(
        invite.invite_id, invite.version, step.status.value, booking_id
    )
    expect_changed(changed, f"invite {invite.invite_id}")
    if (
        step.status is not InviteStatus.EXPIRED
    ):  # the timer that expires it has fired: nothing to cancel
        await uow.timers.cancel(INVITE_EXPIRY, str(invite.invite_id))
    closed = {InviteClosedV1.TYPE: lambda: invite_closed(invite, booking_id)}
    cause = Cause(row["correlation_id"])
    await publish(uow, step.emits, closed, key=str(invite.invite_id), cause=cause)


async def load(
    uow: UnitOfWork,
    invite_id: uuid.UUID,
    *,
    guest_id: str | None = None,
    host_id: str | None = None,
) -> tuple[Mapping[str, Any], Invite]:
    """Lock the invite for its guest or its host (None = admin, or the timer); others see 404."""
    row = await uow.invites.lock(invite_id)
    if row is None or not Invite.of(row).visible_to(guest_id=guest_id, host_id=host_id):
        raise BookingError(ErrorCode.INVITE_NOT_FOUND, f"invite {invite_id} not found")
    return row, Invite.of(row)


async def expire(uow: UnitOfWork, invite_id: uuid.UUID) -> None:
    """The `invite_expiry` timer: an invite still open at `expires_at` expires."""
    row = await uow.invites.lock(invite_id)
    if row is None:
        return
    invite = Invite.of(row)
    if (step := invite.expire()) is not None:
        await close(uow, row, invite, step)
