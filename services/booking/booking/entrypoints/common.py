"""What every gateway route shares: the runtime, who may see a row, error responses (a
command's role, Idempotency-Key and unit of work: command.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, Request

from booking.domain import limits
from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints.auth import STAFF, CurrentPrincipal, Principal, Role
from booking.service_layer.admission import Admission
from eventkit.http_errors import ErrorOut
from eventkit.runtime import ServiceRuntime

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


@dataclass
class Admitted:
    """A checkout request before load shedding: `admit` (503 `overloaded` past the limit) is
    asked once its work is to run (`Command.run`), so that an idempotent replay is answered
    without it. Admitted, it is counted while it runs, and kept in the count only if it placed
    something (`placed`, called by its work when it did)."""

    admission: Admission
    counted: bool = False
    kept: bool = False

    def admit(self) -> None:
        self.admission.admit()
        self.counted = True

    def placed(self) -> None:
        self.kept = True


async def admit_checkout(request: Request) -> AsyncIterator[Admitted]:
    """Load shedding (service_layer/admission.py): 503 before anything is held; a request
    that places nothing (refused, failed) gives its place back when it ends."""
    admitted = Admitted(request.app.state.admission)
    try:
        yield admitted
    finally:
        if admitted.counted and not admitted.kept:
            admitted.admission.release()


AdmitCheckout = Annotated[Admitted, Depends(admit_checkout)]


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


@dataclass(frozen=True)
class Reading:
    """A caller who reads: who they are, and a connection (no transaction) to read with. A
    command's is `command.Command`."""

    request: Request
    principal: Principal

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        return runtime_of(self.request).db.acquire()


async def _reading(request: Request, principal: CurrentPrincipal) -> Reading:
    return Reading(request, principal)


Reader = Annotated[Reading, Depends(_reading)]


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


Seen = TypeVar("Seen", bound=asyncpg.Record | Mapping[str, Any])


def shown_to(principal: Principal, row: Seen | None, code: ErrorCode, what: str) -> Seen:
    """`row` if `principal` may see it (`visible_to`); else 404 `code`, "<what> not found" (not
    403: that would reveal that it exists)."""
    if row is None or not visible_to(principal, row):
        raise BookingError(code, f"{what} not found")
    return row
