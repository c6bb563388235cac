"""The booking gateway: the clients' REST entry point (FastAPI)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI

from booking.domain.errors import ErrorCode
from booking.entrypoints import (
    errors,
    lists_http,
)
from booking.entrypoints.auth import STAFF, Principal, Role
from booking.entrypoints.command import GuestCommand, HostOrAdminCommand
from booking.entrypoints.common import ERRORS, Reader, shown_to
from booking.entrypoints.schemas import (
    BookingOut,
    DeclineRequest,
    ListingOut,
    PayRequest,
)
from booking.features.amendments import endpoints as amendments_endpoints
from booking.features.cancellations import endpoints as cancellations_endpoints
from booking.features.checkout import endpoints as checkout_endpoints
from booking.features.claims import endpoints as claims_endpoints
from booking.features.groups import endpoints as groups_endpoints
from booking.features.invites import endpoints as invites_endpoints
from booking.features.receipts import endpoints as receipts_endpoints
from booking.service_layer import booking_views, host_response, payment_due
from booking.service_layer.admission import Admission
from eventkit.outbox import Outbox

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get(
    "/listings",
    response_model=list[ListingOut],
    tags=["listings"],
    summary="Bookable listings (the booking service's catalogue replica)",
)
async def list_listings(read: Reader) -> list[dict[str, Any]]:
    async with read.connection() as conn:
        rows = await booking_views.listings(conn)
    return [{k: r[k] for k in ListingOut.model_fields} for r in rows]


@router.get(
    "/bookings/{booking_id}",
    response_model=BookingOut,
    tags=["bookings"],
    summary="A booking, visible to its guest, its host and staff (admin, trust)",
    description="While the booking's payment is disputed (a card chargeback or inquiry), "
    "`dispute` shows it: its `status` for the guest and host; staff also see `dispute_id`, "
    "`reason`, `opened_at` and `due_by`. It stays after the dispute closes (`won`, `lost`, "
    "`warning_closed`).",
)
async def get_booking(booking_id: uuid.UUID, read: Reader) -> dict[str, Any]:
    async with read.connection() as conn:
        row = await booking_views.booking(conn, booking_id)
        row = shown_to(read.principal, row, ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id}")
        view = await booking_views.with_dispute(conn, row, staff=read.principal.role in STAFF)
    if read.principal.role != Role.GUEST:
        view["next_action"] = None  # the client secret is for the guest who pays only
    return view


Route = TypeVar("Route", bound=Callable[..., Awaitable[BookingOut]])


def _on_booking(
    action: str,
    tag: str,
    *,
    summary: str,
    description: str | None = None,
    status_code: int | None = None,
) -> Callable[[Route], Route]:
    """A command on a booking (`POST /v1/bookings/{booking_id}/<action>`) that answers with
    the booking."""
    return router.post(
        f"/bookings/{{booking_id}}/{action}",
        status_code=status_code,
        response_model=BookingOut,
        tags=[tag],
        summary=summary,
        description=description,
    )


def _host_scope(principal: Principal) -> str | None:
    """Hosts answer for their own listings; admins for anyone's (None = no host filter)."""
    return None if principal.role == Role.ADMIN else principal.sub


@_on_booking(
    "accept",
    "request-to-book",
    summary="The host accepts a request; the payment is captured",
    description="Only for a booking in `awaiting_host`; anything else is 409 "
    "`illegal_transition`. Of two concurrent answers exactly one wins.",
)
async def accept_request(booking_id: uuid.UUID, call: HostOrAdminCommand) -> BookingOut:
    host_id = _host_scope(call.principal)
    return await call.apply(None, host_response.accept, booking_id, host_id)


@_on_booking(
    "decline",
    "request-to-book",
    summary="The host declines a request; the authorization is voided",
)
async def decline_request(
    booking_id: uuid.UUID, call: HostOrAdminCommand, body: DeclineRequest | None = None
) -> BookingOut:
    host_id, reason = _host_scope(call.principal), body.reason if body else ""
    return await call.run(
        lambda conn: host_response.decline(call.uow(conn), booking_id, host_id, reason),
        {"reason": reason},
    )


@_on_booking(
    "pay",
    "bookings",
    status_code=202,
    summary="Pay a booking in `payment_due` with this payment method",
    description="After a failed off-session charge the booking is `payment_due` until `pay_by`. "
    "This starts one on-session attempt; the booking returns to `confirmed` once captured. "
    "409 `illegal_transition` in any other state.",
)
async def pay_booking(booking_id: uuid.UUID, body: PayRequest, call: GuestCommand) -> BookingOut:
    guest_id = call.principal.sub
    return await call.apply(body, payment_due.pay, booking_id, guest_id, body.payment_method)


def install(
    app: FastAPI,
    outbox: Outbox,
    jwt_secret: str,
    hold_ttl: timedelta,
    response_window: timedelta | None = None,
    authorization_horizon: timedelta = timedelta(days=6),
    overtime_dispute_window: timedelta | None = None,  # None: the setting's default
    admission: Admission | None = None,
    forwarded_for_hops: int = 0,
    bank_debit_lead: timedelta | None = None,  # None: the setting's default
) -> None:
    app.state.outbox = outbox
    app.state.forwarded_for_hops = forwarded_for_hops
    app.state.admission = admission or Admission(limit=1_000_000)
    app.state.hold_ttl = hold_ttl
    app.state.response_window = response_window
    app.state.authorization_horizon = authorization_horizon
    app.state.bank_debit_lead = bank_debit_lead
    app.state.overtime_dispute_window = overtime_dispute_window
    app.state.jwt_secret = jwt_secret
    errors.install(app)
    app.include_router(router)
    app.include_router(lists_http.router)
    app.include_router(invites_endpoints.router)
    app.include_router(groups_endpoints.router)
    app.include_router(checkout_endpoints.router)
    app.include_router(cancellations_endpoints.router)
    app.include_router(amendments_endpoints.router)
    app.include_router(cancellations_endpoints.policies_router)
    app.include_router(receipts_endpoints.router)
    app.include_router(claims_endpoints.router)
