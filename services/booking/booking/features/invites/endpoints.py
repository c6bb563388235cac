"""Gateway routes of Smart Invites."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import Role
from booking.entrypoints.client import client_context
from booking.entrypoints.command import (
    GuestCommand,
    HostCommand,
    HostOrAdminCommand,
)
from booking.entrypoints.common import (
    CHECKOUT_ERRORS,
    ERRORS,
    AdmitCheckout,
    Reader,
    check_horizon,
    shown_to,
)
from booking.entrypoints.schemas import BookingOut
from booking.features.invites import service as invites
from booking.features.invites import views
from booking.features.invites.schemas import AcceptInviteRequest, InviteOut, SendInviteRequest

router = APIRouter(prefix="/v1/invites", tags=["smart-invite"], responses=ERRORS)


@router.post(
    "",
    status_code=201,
    response_model=InviteOut,
    summary="A host invites a guest to book a listing at a set price",
)
async def send_invite(request: Request, body: SendInviteRequest, call: HostCommand) -> InviteOut:
    check_horizon(
        request, starts_at=body.starts_at, ends_at=body.ends_at, expires_at=body.expires_at
    )
    cmd = invites.SendInvite(
        call.principal.sub,
        body.guest_id,
        body.listing_id,
        body.starts_at,
        body.ends_at,
        body.amount,
        body.expires_at,
        body.note,
        tuple(invites.InviteExtra(e.name, e.unit_amount, e.quantity) for e in body.extras),
    )
    return await call.run(
        lambda conn: invites.send(call.uow(conn), cmd), body.model_dump(mode="json")
    )


@router.get(
    "/{invite_id}",
    response_model=InviteOut,
    summary="An invite, visible to its host, its guest and admins",
)
async def get_invite(invite_id: uuid.UUID, read: Reader) -> dict[str, Any]:
    async with read.connection() as conn:
        try:
            invite = await views.view(conn, invite_id)
        except BookingError:
            invite = None
    return shown_to(read.principal, invite, ErrorCode.INVITE_NOT_FOUND, f"invite {invite_id}")


@router.post(
    "/{invite_id}/accept",
    status_code=202,
    response_model=BookingOut,
    responses=CHECKOUT_ERRORS,
    summary="The guest accepts and pays the invited price",
    description="Places an Instant Book at the invited price and returns the booking. "
    "409 `invite_expired`, `invite_withdrawn` or `invite_closed` when it is too late.",
)
async def accept_invite(
    request: Request,
    invite_id: uuid.UUID,
    body: AcceptInviteRequest,
    call: GuestCommand,
    admitted: AdmitCheckout,
) -> BookingOut:
    guest_id, hold_ttl, client = call.principal.sub, call.settings.hold_ttl, client_context(request)

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        booking = await invites.accept(
            call.uow(conn), invite_id, guest_id, body.payment_method, hold_ttl, client
        )
        admitted.placed()
        return booking

    return await call.run(work, body.model_dump(mode="json"), admit=admitted.admit)


@router.post(
    "/{invite_id}/decline",
    response_model=InviteOut,
    summary="The guest declines the invite",
)
async def decline_invite(invite_id: uuid.UUID, call: GuestCommand) -> InviteOut:
    guest_id = call.principal.sub
    return await call.run(lambda conn: invites.decline(call.uow(conn), invite_id, guest_id), {})


@router.post(
    "/{invite_id}/withdraw",
    response_model=InviteOut,
    summary="The host withdraws the invite",
)
async def withdraw_invite(invite_id: uuid.UUID, call: HostOrAdminCommand) -> InviteOut:
    host_id = None if call.principal.role == Role.ADMIN else call.principal.sub
    return await call.run(lambda conn: invites.withdraw(call.uow(conn), invite_id, host_id), {})
