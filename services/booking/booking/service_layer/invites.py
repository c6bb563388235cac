"""Smart Invite use cases. Each runs in one transaction with its outbox event.

Accepting places an ordinary checkout at the invited price (Instant Book), so the payment saga
is the one every booking uses; the invite keeps the resulting booking id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.invites import InviteStatus, InviteTrigger, invite_transition
from booking.domain.quote import Pricing, quote
from booking.service_layer.checkout import PlaceBooking, place_booking
from eventkit import scheduler
from eventkit.outbox import Outbox
from marketplace_contracts.events.booking import InviteClosedV1, InvitedExtra, InviteSentV1

INVITE_EXPIRY = "invite_expiry"


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


@dataclass(frozen=True)
class InviteExtra:
    """A priced add-on the host offers with the invite (equipment, cleaning, catering...)."""

    name: str
    unit_amount: int  # minor units, in the listing's currency
    quantity: int = 1

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


async def send(conn: asyncpg.Connection, outbox: Outbox, cmd: SendInvite) -> dict[str, Any]:
    listing = await repository.get_listing(conn, cmd.listing_id)
    if listing is None or listing["host_id"] != cmd.host_id:
        raise BookingError(ErrorCode.LISTING_NOT_FOUND, f"listing {cmd.listing_id} not found")
    if cmd.starts_at <= datetime.now(UTC):
        raise BookingError(ErrorCode.INVALID_TIME_RANGE, "an invite must start in the future")
    if cmd.expires_at <= datetime.now(UTC):
        raise BookingError(ErrorCode.VALIDATION_FAILED, "expires_at must be in the future")
    # The listed price: the stay, cleaning and service fee (the host may invite for less than
    # the listing's minimum). An invited price is all-inclusive.
    listed = quote(
        replace(Pricing.of_listing(listing, []), min_units=0), cmd.starts_at, cmd.ends_at
    ).total
    # The invited total is what accepting charges: a charge the processor can make.
    total = (cmd.amount if cmd.amount is not None else listed) + sum(e.amount for e in cmd.extras)
    limits.check_charge(total, listing["currency"], "the invited total")
    invite = {
        "invite_id": uuid.uuid4(),
        "host_id": cmd.host_id,
        "guest_id": cmd.guest_id,
        "listing_id": cmd.listing_id,
        "starts_at": cmd.starts_at,
        "ends_at": cmd.ends_at,
        # The invited total: the price for the time plus every extra.
        "amount": total,
        "currency": listing["currency"],
        "expires_at": cmd.expires_at,
        "note": cmd.note,
        "correlation_id": uuid.uuid4(),
        "extras": json.dumps(
            [
                {
                    "name": e.name,
                    "unit_amount": e.unit_amount,
                    "quantity": e.quantity,
                    "amount": e.amount,
                }
                for e in cmd.extras
            ]
        ),
    }
    columns = ", ".join(invite)
    params = ", ".join(f"${i}" for i in range(1, len(invite) + 1))
    await conn.execute(
        f"INSERT INTO booking.invites ({columns}) VALUES ({params})", *invite.values()
    )
    await scheduler.schedule(
        conn, "booking", INVITE_EXPIRY, str(invite["invite_id"]), cmd.expires_at
    )
    await outbox.add(
        conn,
        InviteSentV1(
            invite_id=str(invite["invite_id"]),
            host_id=cmd.host_id,
            guest_id=cmd.guest_id,
            listing_id=cmd.listing_id,
            starts_at=cmd.starts_at,
            ends_at=cmd.ends_at,
            amount=invite["amount"],
            currency=invite["currency"],
            expires_at=cmd.expires_at,
            extras=[
                InvitedExtra(
                    name=e.name, unit_amount=e.unit_amount, quantity=e.quantity, amount=e.amount
                )
                for e in cmd.extras
            ],
        ),
        key=str(invite["invite_id"]),
        correlation_id=invite["correlation_id"],
    )
    return await view(conn, invite["invite_id"])


async def accept(
    conn: asyncpg.Connection,
    outbox: Outbox,
    invite_id: uuid.UUID,
    guest_id: str,
    payment_method: str,
    hold_ttl: timedelta,
    client: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """`client`: the guest's (IP address, User-Agent), kept on the checkout as evidence."""
    row = await _load(conn, invite_id, guest_id=guest_id)
    step = invite_transition(InviteStatus(row["status"]), InviteTrigger.GUEST_ACCEPTED)
    if row["expires_at"] <= datetime.now(UTC):  # the timer may not have fired yet
        raise BookingError(ErrorCode.INVITE_EXPIRED, f"invite {invite_id} has expired")
    booking = await place_booking(
        conn,
        outbox,
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
    await _close(conn, outbox, row, step.target, uuid.UUID(booking["booking_id"]))
    return booking


async def decline(
    conn: asyncpg.Connection, outbox: Outbox, invite_id: uuid.UUID, guest_id: str
) -> dict[str, Any]:
    row = await _load(conn, invite_id, guest_id=guest_id)
    step = invite_transition(InviteStatus(row["status"]), InviteTrigger.GUEST_DECLINED)
    await _close(conn, outbox, row, step.target)
    return await view(conn, invite_id)


async def withdraw(
    conn: asyncpg.Connection, outbox: Outbox, invite_id: uuid.UUID, host_id: str | None
) -> dict[str, Any]:
    row = await _load(conn, invite_id, host_id=host_id)
    step = invite_transition(InviteStatus(row["status"]), InviteTrigger.HOST_WITHDREW)
    await _close(conn, outbox, row, step.target)
    return await view(conn, invite_id)


async def expire_job(
    outbox: Outbox, conn: asyncpg.Connection, invite_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer: an invite still open at `expires_at` expires."""
    row = await conn.fetchrow(
        "SELECT * FROM booking.invites WHERE invite_id = $1 FOR UPDATE", uuid.UUID(invite_id)
    )
    if row is None or row["status"] != InviteStatus.OPEN:
        return
    step = invite_transition(InviteStatus.OPEN, InviteTrigger.INVITE_EXPIRED)
    await _close(conn, outbox, row, step.target)


async def _close(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    status: InviteStatus,
    booking_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        "UPDATE booking.invites SET status = $2, booking_id = $3, version = version + 1, "
        "updated_at = now() WHERE invite_id = $1",
        row["invite_id"],
        status.value,
        booking_id,
    )
    if status != InviteStatus.EXPIRED:
        await scheduler.cancel(conn, "booking", INVITE_EXPIRY, str(row["invite_id"]))
    await outbox.add(
        conn,
        InviteClosedV1(
            invite_id=str(row["invite_id"]),
            outcome=status.value,
            booking_id=str(booking_id) if booking_id else None,
        ),
        key=str(row["invite_id"]),
        correlation_id=row["correlation_id"],
    )


async def _load(
    conn: asyncpg.Connection,
    invite_id: uuid.UUID,
    *,
    guest_id: str | None = None,
    host_id: str | None = None,
) -> asyncpg.Record:
    """Lock the invite for its guest or its host (None = admin); others see 404."""
    row = await conn.fetchrow(
        "SELECT * FROM booking.invites WHERE invite_id = $1 FOR UPDATE", invite_id
    )
    if (
        row is None
        or (guest_id is not None and row["guest_id"] != guest_id)
        or (host_id is not None and row["host_id"] != host_id)
    ):
        raise BookingError(ErrorCode.INVITE_NOT_FOUND, f"invite {invite_id} not found")
    return row


async def view(conn: asyncpg.Connection, invite_id: uuid.UUID) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM booking.invites WHERE invite_id = $1", invite_id)
    if row is None:
        raise BookingError(ErrorCode.INVITE_NOT_FOUND, f"invite {invite_id} not found")
    return invite_view(row)


def invite_view(row: asyncpg.Record) -> dict[str, Any]:
    out = {
        k: row[k]
        for k in (
            "host_id",
            "guest_id",
            "listing_id",
            "amount",
            "currency",
            "note",
            "status",
            "version",
        )
    }
    for k in ("starts_at", "ends_at", "expires_at", "created_at", "updated_at"):
        out[k] = row[k].isoformat()
    out["extras"] = json.loads(row["extras"])
    out["price"] = row["amount"] - sum(extra["amount"] for extra in out["extras"])
    out["invite_id"] = str(row["invite_id"])
    out["booking_id"] = str(row["booking_id"]) if row["booking_id"] else None
    return out
