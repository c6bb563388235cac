"""Gateway routes of cancellations (preview the refund, then cancel) and of the cancellation
policies admins publish."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter

from booking.domain.refunds import Canceller
from booking.entrypoints.auth import Principal, Role, require_role
from booking.entrypoints.command import AdminCommand, Command, command
from booking.entrypoints.common import DISPUTED_ERRORS, ERRORS, Reader, check_horizon
from booking.entrypoints.schemas import BookingOut
from booking.features.cancellations import service as cancellations
from booking.features.cancellations.schemas import (
    CancellationPreviewOut,
    CancelPreviewRequest,
    CancelRequest,
    PolicyIn,
    PolicyOut,
)

router = APIRouter(prefix="/v1", tags=["cancellations"], responses=ERRORS)
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
    summary="The exact refund cancelling now would give, per line item; changes nothing",
    description="Computed by the refund kernel from the quote and the cancellation policy "
    "snapshotted at checkout. A guest gets the policy's refund (a full one within the grace "
    "period); a host's cancellation refunds the guest in full and records a host penalty; an "
    "admin applies the policy, or refunds in full with `force_majeure`.",
)
async def preview_cancellation(
    booking_id: uuid.UUID,
    read: Reader,
    body: CancelPreviewRequest | None = None,
) -> dict[str, Any]:
    check_horizon(read.request, at=body.at if body else None)
    async with read.connection() as conn:
        return await cancellations.preview(
            conn, _command(read.principal, booking_id, body), body.at if body else None
        )


@router.post(
    "/bookings/{booking_id}/cancel",
    response_model=BookingOut,
    responses=DISPUTED_ERRORS,
    summary="Cancel a confirmed booking (or one leg of a group); the refund follows",
    description="The booking becomes `cancelled` at once and frees its slot; `refund` holds "
    "the refund decided and `refund_status` follows the refund saga: `pending`, then "
    "`refunded`, or `failed` with `refund_failure` for ops to act on. Cancelling one leg of a "
    "Linked Booking Group refunds that leg only. 409 `illegal_transition` unless `confirmed`; "
    "409 `payment_disputed` while a card dispute is open on the booking's payment (nothing "
    "can be refunded until it closes; docs/api-errors.md); 409 `amendment_pending` while an "
    "accepted amendment's increase is being charged (moments: try again).",
)
async def cancel_booking(
    booking_id: uuid.UUID, call: CancellingCall, body: CancelRequest | None = None
) -> BookingOut:
    cmd = _command(call.principal, booking_id, body)
    sent = (body or CancelRequest()).model_dump(mode="json")
    return await call.run(lambda conn: cancellations.cancel(call.uow(conn), cmd), sent)


# Cancellation policies: versioned data, published by admins.
policies_router = APIRouter(prefix="/v1", tags=["cancellation policies"], responses=ERRORS)


@policies_router.get(
    "/cancellation-policies",
    response_model=list[PolicyOut],
    summary="The newest version of every cancellation policy",
)
async def list_policies(read: Reader) -> list[dict[str, Any]]:
    async with read.connection() as conn:
        return await cancellations.newest_policies(conn)


@policies_router.post(
    "/cancellation-policies",
    status_code=201,
    response_model=PolicyOut,
    summary="Publish a policy, or a new version of one (admins)",
    description="Bands: cancelled at least `hours_before` the start refunds `refund_bps` of the "
    "stay; a later band may not refund more. Listings name a policy; each checkout snapshots "
    "its newest version, so publishing a version never changes an existing booking.",
)
async def publish_policy(body: PolicyIn, call: AdminCommand) -> PolicyOut:
    bands = [(band.hours_before, band.refund_bps) for band in body.bands]
    return await call.run(
        lambda conn: cancellations.publish_policy(
            call.uow(conn),
            body.name,
            bands,
            body.grace_hours,
            body.grace_min_lead_hours,
            body.service_fee,
            body.host_penalty_bps,
        ),
        body.model_dump(mode="json"),
    )
