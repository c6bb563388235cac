"""One dependency for every gateway command: the caller and the roles allowed, the
Idempotency-Key, and the unit of work.

A route declares `call: Annotated[Command, command(Role.GUEST)]` and hands `call.run` its use
case, which runs in one transaction with its answer stored under the key in
`booking.idempotency_keys` (eventkit.idempotency, as every service's commands). The answer is
the route's own `response_model`, validated before it is stored, so what is served, what a
replay serves and the OpenAPI document have one shape. Refusals (a BookingError) keep the shared
error body and codes (errors.py) and are stored and replayed like an answer. A transaction that
Postgres aborts as a deadlock victim (two checkouts of one slot while the winner's payment is
confirmed) is run again: the retry sees the winner and is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Annotated, Any, Concatenate, ParamSpec

import asyncpg
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter

from booking.domain.errors import BookingError, ErrorCode
from booking.entrypoints import errors
from booking.entrypoints.auth import CurrentPrincipal, Principal, Role, require_role
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit import idempotency, unit_of_work
from eventkit.db import retry_conflicts
from eventkit.outbox import Outbox

__all__ = [
    "AdminCommand",
    "Command",
    "GuestCommand",
    "HostCommand",
    "HostOrAdminCommand",
    "IdempotencyKey",
    "command",
]

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
Work = Callable[[asyncpg.Connection], Awaitable[Any]]
P = ParamSpec("P")


def _reused() -> BookingError:
    return BookingError(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "this Idempotency-Key was used with a different request body",
    )


STORE = idempotency.Store("booking", reused=_reused)


@dataclass(frozen=True)
class Command:
    """A caller allowed to run this route's use case, and how to run it once."""

    request: Request
    principal: Principal
    idempotency_key: str | None

    @property
    def outbox(self) -> Outbox:
        outbox: Outbox = self.request.app.state.outbox
        return outbox

    def uow(self, conn: asyncpg.Connection) -> UnitOfWork:
        """The unit of work of `run`'s transaction: `conn` and the app's outbox (bootstrap's)."""
        return UnitOfWork(conn, self.outbox)

    @property
    def settings(self) -> Any:
        """What `http.install` was given (hold_ttl, windows, ...), as the app's state."""
        return self.request.app.state

    async def run(
        self, work: Work, body: Any = None, *, admit: Callable[[], None] | None = None
    ) -> Any:
        """Run `work(conn)` once and answer with the route's response model.

        `body` is what makes two requests under one key the same request (the parsed body in
        JSON form, as a client would send it again). A refusal is raised (errors.py maps it);
        a replay is the stored JSON with `Idempotent-Replayed: true`. `admit` (load shedding,
        `Admitted.admit`) is asked before the work runs, not for a replay: a guest retrying
        an accepted checkout gets its answer even while new ones are refused."""
        route: APIRoute = self.request.scope["route"]
        shape = _adapter(route.response_model)
        status = route.status_code or 200

        async def answer(conn: asyncpg.Connection) -> Any:
            shaped = shape.validate_python(await work(conn))
            return shape.dump_python(shaped, mode="json", by_alias=True)

        key = None
        if self.idempotency_key is not None:
            request = self.request
            key = idempotency.Key.of(
                self.principal.key, self.idempotency_key, request.method, request.url.path, body
            )
        async with self.request.app.state.runtime.db.acquire() as conn:
            if key is None:  # nothing to keep: the work in one transaction
                if admit is not None:
                    admit()
                served = await retry_conflicts(partial(_once, conn, answer))
                done = idempotency.Answer(status, served)
            else:
                done = await idempotency.run(
                    conn, STORE, key, status, answer, refuse=_refusal, retry=True, before=admit
                )
        if done.replayed:
            return JSONResponse(done.body, done.status, headers={"Idempotent-Replayed": "true"})
        if done.refusal is not None:
            raise done.refusal
        return shape.validate_python(done.body)

    async def apply(
        self,
        body: BaseModel | None,
        use_case: Callable[Concatenate[UnitOfWork, P], Awaitable[Any]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """`run` of the usual use case, `use_case(uow, *args, **kwargs)` on the request's unit of
        work, for a request that is its `body` (none: `{}`, the same request whatever else was
        sent)."""
        sent = {} if body is None else body.model_dump(mode="json")
        return await self.run(lambda conn: use_case(self.uow(conn), *args, **kwargs), sent)


def command(*roles: Role) -> Any:
    """`Depends` giving a `Command` to a caller of one of `roles` (else 403 `forbidden`)."""

    async def allowed(
        request: Request, principal: CurrentPrincipal, idempotency_key: IdempotencyKey = None
    ) -> Command:
        require_role(principal, *roles)
        return Command(request, principal, idempotency_key)

    return Depends(allowed)


GuestCommand = Annotated[Command, command(Role.GUEST)]
HostCommand = Annotated[Command, command(Role.HOST)]
AdminCommand = Annotated[Command, command(Role.ADMIN)]
# A host answers for their own listings; an admin for anyone's.
HostOrAdminCommand = Annotated[Command, command(Role.HOST, Role.ADMIN)]


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


async def _once(conn: asyncpg.Connection, work: Work) -> Any:
    """`work` in one transaction (no key: nothing to store)."""
    async with unit_of_work.transaction(conn):
        return await work(conn)


def _refusal(exc: Exception) -> idempotency.Answer | None:
    """A BookingError as the answer its handler gives (errors.py), kept under the key."""
    if not isinstance(exc, BookingError):
        return None
    body = errors.error_body(exc.code, exc.message)
    return idempotency.Answer(errors.status_for(exc), body, refusal=exc)
