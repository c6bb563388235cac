"""What every gateway route shares: the runtime, Idempotency-Key handling, error responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from booking.adapters import idempotency
from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints import errors
from booking.entrypoints.auth import STAFF, Principal, Role
from eventkit.db import retry_conflicts
from eventkit.http_errors import ErrorOut
from eventkit.runtime import ServiceRuntime

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",  # printable ASCII without spaces, e.g. a UUID
        description="Same key + same body replays the first response; a different body is 422.",
    ),
]
Work = Callable[[asyncpg.Connection], Awaitable[tuple[int, Any]]]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}
# A route that could give money back is refused while the payment is disputed.
DISPUTED_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "model": ErrorOut,
        "description": "A refusal of the booking's state, e.g. `illegal_transition`; "
        "`payment_disputed` while a card dispute is open on the booking's payment (nothing is "
        "refunded until it closes; docs/api-errors.md).",
    },
}
# A route that starts a checkout may also be refused by load shedding.
CHECKOUT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    503: {
        "model": ErrorOut,
        "description": "`overloaded`: too many checkouts wait for payment; retry after "
        "`Retry-After` seconds. Nothing was held.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


async def admit_checkout(request: Request) -> None:
    """Load shedding (service_layer/admission.py): 503 before anything is held."""
    request.app.state.admission.admit()


AdmitCheckout = Annotated[None, Depends(admit_checkout)]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def check_horizon(request: Request, **times: datetime | None) -> None:
    """422 `beyond_booking_horizon` for a time further ahead than BOOKING_BOOKING_HORIZON_DAYS."""
    horizon = getattr(request.app.state, "booking_horizon", limits.DEFAULT_BOOKING_HORIZON)
    limits.check_horizon(datetime.now(UTC), horizon, **times)


def visible_to(principal: Principal, row: asyncpg.Record | Mapping[str, Any] | None) -> bool:
    """Staff (admin, trust), and the guest and host of `row` (its `guest_id` and `host_id`),
    may see it."""
    return row is not None and (
        principal.role in STAFF
        or (principal.role == Role.GUEST and row["guest_id"] == principal.sub)
        or (principal.role == Role.HOST and row["host_id"] == principal.sub)
    )


async def run_idempotent(
    request: Request, principal: Principal, key: str | None, body: Any, work: Work
) -> JSONResponse:
    """Run `work` in one transaction; with a key, store its response in that same transaction.

    A transaction that Postgres aborts as a deadlock victim (two checkouts of one slot while the
    winner's payment is confirmed) is run again: the retry sees the winner and answers 409."""
    pool = runtime_of(request).db
    async with pool.acquire() as conn:
        if key is None:
            status, payload = await retry_conflicts(lambda: _transact(conn, work))
            return JSONResponse(payload, status)
        hash_ = idempotency.request_hash(request.method, request.url.path, body)
        stored = await idempotency.lookup(conn, principal.key, key)
        if stored is None:
            try:
                status, payload = await retry_conflicts(
                    lambda: _transact(conn, work, store=(principal.key, key, hash_))
                )
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


async def _transact(
    conn: asyncpg.Connection, work: Work, store: tuple[str, str, str] | None = None
) -> tuple[int, Any]:
    """One transaction of `work`; a refusal is a response too, and leaves nothing of the work.
    With `store` (principal key, Idempotency-Key, request hash), the response is kept in the
    same transaction as the work; a refusal's on its own (it has no effects to keep with it).

    No savepoint around the work: its SAVEPOINT and RELEASE were two of the dozen round trips
    of every checkout, for the rare refusal that a rollback undoes as well."""
    try:
        async with conn.transaction():
            status, payload = await work(conn)
            if store is not None:
                await idempotency.store(conn, *store, status, payload)
            return status, payload
    except BookingError as exc:  # the transaction has rolled back
        status, payload = errors.status_for(exc), errors.error_body(exc.code, exc.message)
    if store is not None:
        await idempotency.store(conn, *store, status, payload)
    return status, payload
