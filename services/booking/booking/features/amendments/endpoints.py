"""Gateway routes of amendments and overtime."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request

from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Canceller
from booking.entrypoints.auth import Principal, Role, require_role
from booking.entrypoints.command import Command, HostCommand, command
from booking.entrypoints.common import DISPUTED_ERRORS, ERRORS, Reader, check_horizon
from booking.features.amendments import service as amendments
from booking.features.amendments import views as amendments_views
from booking.features.amendments.schemas import (
    AmendmentAnswer,
    AmendmentOut,
    OvertimeRequest,
    ProposeAmendmentRequest,
)

router = APIRouter(prefix="/v1", tags=["amendments"], responses=ERRORS)
PARTIES = (Role.GUEST, Role.HOST)  # the booking's two sides; staff amend nothing
PartyCall = Annotated[Command, command(*PARTIES)]


def _actor(principal: Principal) -> amendments.Actor:
    require_role(principal, *PARTIES)
    by = Canceller.GUEST if principal.role == Role.GUEST else Canceller.HOST
    return amendments.Actor(by, principal.sub)


@router.post(
    "/bookings/{booking_id}/amendments",
    status_code=201,
    response_model=AmendmentOut,
    responses=DISPUTED_ERRORS,
    summary="Propose a change of a confirmed booking: time range, extras, guests",
    description="The guest or the host proposes; the other party accepts or rejects before "
    "the start. Accepting re-prices the booking at the listing's current prices and re-checks "
    "availability: a decrease is refunded at once; an increase is charged off-session to the "
    "guest's saved card first (status `charging`) and applied only when paid; a failed charge "
    "leaves the booking as it was. One open amendment per booking: 409 `amendment_pending`. "
    "A decrease is refused with 409 `payment_disputed` while the payment is disputed.",
)
async def propose(
    request: Request, booking_id: uuid.UUID, body: ProposeAmendmentRequest, call: PartyCall
) -> AmendmentOut:
    actor = _actor(call.principal)
    check_horizon(request, starts_at=body.starts_at, ends_at=body.ends_at)
    return await call.run(
        lambda conn: amendments.propose_change(
            call.uow(conn),
            booking_id,
            actor,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            guests=body.guests,
            extras=body.extras,
        ),
        body.model_dump(mode="json"),
    )


@router.post(
    "/bookings/{booking_id}/overtime",
    status_code=201,
    response_model=AmendmentOut,
    summary="The host reports overtime after the end (30-minute steps, within 72 h)",
    description="Priced at the listing's overtime rate with its fees and tax. The guest "
    "accepts (charged off-session) or disputes within 48 h; not disputed by `respond_by`, "
    "it is charged.",
)
async def overtime(booking_id: uuid.UUID, body: OvertimeRequest, call: HostCommand) -> AmendmentOut:
    host_id, window = call.principal.sub, call.settings.overtime_dispute_window
    return await call.run(
        lambda conn: amendments.report_overtime(
            call.uow(conn), booking_id, host_id, body.minutes, window
        ),
        body.model_dump(mode="json"),
    )


@router.get(
    "/amendments/{amendment_id}",
    response_model=AmendmentOut,
    summary="An amendment, for the booking's guest and host and admins",
)
async def get_amendment(amendment_id: uuid.UUID, read: Reader) -> dict[str, Any]:
    if read.principal.role == Role.ADMIN:
        viewer = None
    elif read.principal.role in (Role.GUEST, Role.HOST):
        viewer = _actor(read.principal)
    else:  # nobody else sees amendments: as if there were none
        raise BookingError(ErrorCode.AMENDMENT_NOT_FOUND, f"amendment {amendment_id} not found")
    async with read.connection() as conn:
        return await amendments_views.view_for(conn, amendment_id, viewer)


Answer = Callable[..., Awaitable[dict[str, Any]]]


def _answer_route(path: str, summary: str, use_case: Answer, with_reason: bool) -> None:
    @router.post(
        f"/amendments/{{amendment_id}}/{path}",
        response_model=AmendmentOut,
        responses=DISPUTED_ERRORS if path == "accept" else None,
        summary=summary,
        name=f"amendment_{path}",
    )
    async def answer(
        amendment_id: uuid.UUID, call: PartyCall, body: AmendmentAnswer | None = None
    ) -> AmendmentOut:
        actor, reason = _actor(call.principal), body.reason if body else ""
        why = (reason,) if with_reason else ()
        return await call.run(
            lambda conn: use_case(call.uow(conn), amendment_id, actor, *why),
            {"reason": reason},
        )


_answer_route(
    "accept",
    "The other party accepts: re-priced, then applied or charged",
    amendments.accept,
    False,
)
_answer_route("reject", "The other party rejects: nothing changes", amendments.reject, True)
_answer_route("withdraw", "The proposer withdraws it", amendments.withdraw, False)
_answer_route(
    "dispute", "The guest disputes reported overtime: nothing is charged", amendments.dispute, True
)
