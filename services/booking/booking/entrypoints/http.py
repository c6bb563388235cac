"""The booking gateway: the clients' REST entry point (FastAPI)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from booking.adapters import idempotency, repository
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints import errors
from booking.entrypoints.auth import CurrentPrincipal, Principal, Role, require_role
from booking.entrypoints.schemas import (
    BookingOut,
    DeclineRequest,
    ErrorOut,
    InstantBookRequest,
    ListingOut,
)
from booking.service_layer import host_response
from booking.service_layer.checkout import PlaceBooking, booking_view, place_booking
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime

router = APIRouter(prefix="/v1")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Same key + same body replays the first response; a different body is 422.",
    ),
]
Work = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


async def run_idempotent(
    request: Request, principal: Principal, key: str | None, body: Any, work: Work
) -> JSONResponse:
    """Run `work` in one transaction; with a key, store its response in that same transaction."""
    pool = _runtime(request).db
    async with pool.acquire() as conn:
        if key is None:
            try:
                async with conn.transaction():
                    status, payload = await work(conn)
            except BookingError as exc:
                return JSONResponse(
                    errors.error_body(exc.code, exc.message), errors.status_for(exc)
                )
            return JSONResponse(payload, status)
        hash_ = idempotency.request_hash(request.method, request.url.path, body)
        stored = await idempotency.lookup(conn, principal.key, key)
        if stored is None:
            try:
                async with conn.transaction():
                    try:
                        status, payload = await work(conn)
                    except BookingError as exc:  # a refusal is a response too: replay it
                        status = errors.status_for(exc)
                        payload = errors.error_body(exc.code, exc.message)
                    await idempotency.store(conn, principal.key, key, hash_, status, payload)
                return JSONResponse(payload, status)
            except asyncpg.UniqueViolationError:  # a concurrent request with this key won
                stored = await idempotency.lookup(conn, principal.key, key)
                assert stored is not None
        if stored.request_hash != hash_:
            raise BookingError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used with a different request body",
            )
        return JSONResponse(
            stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"}
        )


@router.get(
    "/listings",
    response_model=list[ListingOut],
    tags=["listings"],
    summary="Bookable listings (the booking service's catalogue replica)",
)
async def list_listings(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    async with _runtime(request).db.acquire() as conn:
        rows = await repository.list_listings(conn)
    return [{k: r[k] for k in ListingOut.model_fields} for r in rows]


@router.post(
    "/bookings",
    status_code=202,
    response_model=BookingOut,
    responses=ERRORS,
    tags=["bookings"],
    summary="Book one listing and time range (Instant Book or Request-to-Book)",
    description="Holds the slot and starts the checkout saga; the booking is `pending_payment` "
    "until payments authorizes. An Instant Book listing is then `confirmed`; a "
    "Request-to-Book listing is `awaiting_host` until the host accepts or declines, or "
    "`respond_by` passes. Failures end as `failed`/`expired`/`declined` with a "
    "`failure_reason`. Poll `GET /v1/bookings/{id}`.",
)
async def create_booking(
    request: Request,
    body: InstantBookRequest,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.GUEST)
    cmd = PlaceBooking(
        principal.sub, body.listing_id, body.starts_at, body.ends_at, body.payment_method
    )
    outbox: Outbox = request.app.state.outbox

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        return 202, await place_booking(
            conn, outbox, cmd, request.app.state.hold_ttl, request.app.state.response_window
        )

    return await run_idempotent(
        request, principal, idempotency_key, body.model_dump(mode="json"), work
    )


@router.get(
    "/bookings/{booking_id}",
    response_model=BookingOut,
    responses=ERRORS,
    tags=["bookings"],
    summary="A booking, visible to its guest, its host and admins",
)
async def get_booking(
    request: Request, booking_id: uuid.UUID, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with _runtime(request).db.acquire() as conn:
        row = await repository.get_booking(conn, booking_id)
    visible = row is not None and (
        principal.role == Role.ADMIN
        or (principal.role == Role.GUEST and row["guest_id"] == principal.sub)
        or (principal.role == Role.HOST and row["host_id"] == principal.sub)
    )
    if not visible:  # 404, not 403: do not reveal that someone else's booking exists
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    assert row is not None
    return booking_view(row)


def _host_scope(principal: Principal) -> str | None:
    """Hosts answer for their own listings; admins for anyone's (None = no host filter)."""
    require_role(principal, Role.HOST, Role.ADMIN)
    return None if principal.role == Role.ADMIN else principal.sub


@router.post(
    "/bookings/{booking_id}/accept",
    response_model=BookingOut,
    responses=ERRORS,
    tags=["request-to-book"],
    summary="The host accepts a request; the payment is captured",
    description="Only for a booking in `awaiting_host`; anything else is 409 "
    "`illegal_transition`. Of two concurrent answers exactly one wins.",
)
async def accept_request(
    request: Request,
    booking_id: uuid.UUID,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    host_id = _host_scope(principal)
    outbox: Outbox = request.app.state.outbox

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        return 200, await host_response.accept(conn, outbox, booking_id, host_id)

    return await run_idempotent(request, principal, idempotency_key, {}, work)


@router.post(
    "/bookings/{booking_id}/decline",
    response_model=BookingOut,
    responses=ERRORS,
    tags=["request-to-book"],
    summary="The host declines a request; the authorization is voided",
)
async def decline_request(
    request: Request,
    booking_id: uuid.UUID,
    principal: CurrentPrincipal,
    body: DeclineRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    host_id = _host_scope(principal)
    outbox: Outbox = request.app.state.outbox
    reason = body.reason if body else ""

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        return 200, await host_response.decline(conn, outbox, booking_id, host_id, reason)

    return await run_idempotent(request, principal, idempotency_key, {"reason": reason}, work)


def install(
    app: FastAPI,
    outbox: Outbox,
    jwt_secret: str,
    hold_ttl: timedelta,
    response_window: timedelta | None = None,
) -> None:
    app.state.outbox = outbox
    app.state.hold_ttl = hold_ttl
    app.state.response_window = response_window
    app.state.jwt_secret = jwt_secret
    errors.install(app)
    app.include_router(router)
