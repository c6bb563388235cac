"""Gateway routes of Linked Booking Groups: one checkout of several legs, one payment."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import STAFF, Role
from booking.entrypoints.client import client_context
from booking.entrypoints.command import GuestCommand
from booking.entrypoints.common import (
    CHECKOUT_ERRORS,
    ERRORS,
    AdmitCheckout,
    Reader,
    check_horizon,
)
from booking.features.groups.schemas import GroupCheckoutRequest, GroupOut
from booking.features.groups.service import CheckoutTimes, LegRequest, PlaceGroup, place_group
from booking.features.groups.views import visible_group
from eventkit import logs, tracing

router = APIRouter(prefix="/v1", tags=["booking groups"], responses=ERRORS)


@router.post(
    "/checkout-groups",
    status_code=202,
    response_model=GroupOut,
    responses=CHECKOUT_ERRORS,
    summary="Book several listings in one checkout, paid by one payment (all or nothing)",
    description="Holds every leg at once: if one cannot be held (409 `slot_unavailable`, with "
    "the leg's number) nothing is. Legs whose listing requires documents are "
    "`awaiting_signatures` (each has its `signing_url`); payment is requested for the total "
    "once every leg is signed. Request-to-Book legs then wait for their hosts. When every leg "
    "is ready the payment is captured and every leg is `confirmed` together; any failure "
    "before that releases every leg and voids the payment (`failed`, with `failure_reason` "
    "and `failed_booking_id`). Poll `GET /v1/checkout-groups/{id}`.",
)
async def create_group(
    request: Request,
    body: GroupCheckoutRequest,
    call: GuestCommand,
    admitted: AdmitCheckout,
) -> GroupOut:
    for leg in body.legs:
        check_horizon(request, starts_at=leg.starts_at, ends_at=leg.ends_at)
    client_ip, user_agent = client_context(request)
    cmd = PlaceGroup(
        call.principal.sub,
        tuple(
            LegRequest(leg.listing_id, leg.starts_at, leg.ends_at, leg.guests, leg.extras)
            for leg in body.legs
        ),
        body.payment_method,
        correlation_id=logs.correlation_id(),  # the request's: its log lines join the saga's
        client_ip=client_ip,
        user_agent=user_agent,
    )
    state = call.settings
    times = CheckoutTimes(state.hold_ttl, state.response_window, state.authorization_horizon)

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        with tracing.span("booking place_group", **{"legs": len(cmd.legs)}):
            group = await place_group(call.uow(conn), cmd, times)
        admitted.placed()
        return group

    return await call.run(work, body.model_dump(mode="json"), admit=admitted.admit)


@router.get(
    "/checkout-groups/{group_id}",
    response_model=GroupOut,
    summary="A booking group with its legs, visible to its guest and staff (admin, trust)",
    description="A leg whose payment is disputed shows `dispute` (its `status`; staff also "
    "see `reason`, `opened_at` and `due_by`). Hosts see their own leg through `GET /v1/bookings/{id}`, not the group "
    "(which names other hosts' bookings): for them the group is 404.",
)
async def get_group(group_id: uuid.UUID, read: Reader) -> dict[str, Any]:
    if read.principal.role == Role.HOST:  # 404 like a stranger: no existence leak
        raise BookingError(ErrorCode.GROUP_NOT_FOUND, f"booking group {group_id} not found")
    staff = read.principal.role in STAFF
    guest_id = None if staff else read.principal.sub
    async with read.connection() as conn:
        return await visible_group(conn, group_id, guest_id, staff=staff)
