"""Gateway routes of cancellations: preview the refund, then cancel."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request

from booking.domain.refunds import Canceller
from booking.entrypoints.auth import CurrentPrincipal, Principal, Role, require_role
from booking.entrypoints.command import Command, command
from booking.entrypoints.common import (
    DISPUTED_ERRORS,
    ERRORS,
    check_horizon,
    runtime_of,
)
from booking.entrypoints.schemas import (
    BookingOut,
    CancellationPreviewOut,
    CancelPreviewRequest,
    CancelRequest,
)
from booking.service_layer import cancellations

router = APIRouter(prefix="/v1")
CANCELLERS = (Role.GUEST, Role.HOST, Role.ADMIN)  # trust staff cancel nothing
CancellingCall = Annotated[Command, command(*CANCELLERS)]


def _command(principal: Principal, booking_id: uuid.UUID, body: CancelRequest | None) -> Any:
    require_role(principal, *CANCELLERS)  # the preview checks here, the cancel in `command`
    by = {Role.GUEST: Canceller.GUEST, Role.HOST: Canceller.HOST, Role.ADMIN: Canceller.ADMIN}[
        principal.role
    ]
    body = body or CancelRequest()
    return cancellations.Cancel(
        booking_id,
        by,
        None if by is Canceller.ADMIN else principal.sub,
        body.reason,
        body.force_majeure,
    )


@router.post(
    "/bookings/{booking_id}/cancel/preview",
    response_model=CancellationPreviewOut,
    responses=ERRORS,
    tags=["cancellations"],
    summary="The exact refund cancelling now would give, per line item; changes nothing",
    description="Computed by the refund kernel from the quote and the cancellation policy "
    "snapshotted at checkout. A guest gets the policy's refund (a full one within the grace "
    "period); a host's cancellation refunds the guest in full and records a host penalty; an "
    "admin applies the policy, or refunds in full with `force_majeure`.",
)
async def preview_cancellation(
    request: Request,
    booking_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: CancelPreviewRequest | None = None,
) -> dict[str, Any]:
    check_horizon(request, at=body.at if body else None)
    async with runtime_of(request).db.acquire() as conn:
        return await cancellations.preview(
            conn, _command(principal, booking_id, body), body.at if body else None
        )


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingOut,
    responses=DISPUTED_ERRORS,
    tags=["cancellations"],
    summary="Cancel a confirmed booking (or one leg of a group); the refund follows",
    description="The booking becomes `cancelled` at once and frees its slot; `refund` holds "
    "the refund decided and `refund_status` follows the refund saga: `pending`, then "
    "`refunded`, or `failed` with `refund_failure` for ops to act on. Cancelling one leg of a "
    "Linked Booking Group refunds that leg only. 409 `illegal_transition` unless `confirmed`; "
    "409 `payment_disputed` while a card dispute is open on the booking's payment (nothing "
    "can be refunded until it closes; docs/api-errors.md).",
)
async def cancel_booking(
    booking_id: uuid.UUID, call: CancellingCall, body: CancelRequest | None = None
) -> BookingOut:
    cmd = _command(call.principal, booking_id, body)
    return await call.run(
        lambda conn: cancellations.cancel(conn, call.outbox, cmd),
        (body or CancelRequest()).model_dump(mode="json"),
    )
