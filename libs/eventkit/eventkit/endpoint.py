"""One dependency for a service's HTTP endpoints: the caller, the Idempotency-Key of a command,
and the unit of work (the gateway's own is booking/entrypoints/command.py, on the same rules).

A service builds its pair once from its token check and its refusal map:

    endpoints = Endpoints(require(*ROLES), refuse, schema="finance")
    Reader = Annotated[Endpoint, endpoints.read]       # GET: caller + a connection
    Command = Annotated[Endpoint, endpoints.command]   # + actor, Idempotency-Key, transaction

and a route hands `call.run` (or `call.connect`) its use case. The answer is validated against the
route's own `response_model` before it is served or stored, so what is served, what a replay
serves and the OpenAPI document have one shape. `refuse` maps the service's domain errors to
`HTTPException(status, {"code", "message"})`, the project's error body (eventkit.http_errors),
in one place; a refusal under a key is stored and replayed like an answer.
"""

# No `from __future__ import annotations`: FastAPI must see the closures' `Depends(...)`
# evaluated, not as strings it cannot resolve.
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, PlainSerializer, TypeAdapter

from eventkit import idempotency, unit_of_work
from eventkit.acting import actor as acting_actor
from eventkit.auth import Principal
from eventkit.http_errors import ErrorOut

__all__ = ["Endpoint", "Endpoints", "IdempotencyKey", "Instant", "Shape", "refusals"]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",  # printable ASCII without spaces, e.g. a UUID
        description="Same key + same request replays the first answer (header "
        "`Idempotent-Replayed: true`); the key with another request is 422 "
        "`idempotency_key_reused`.",
    ),
]
# A time as these services always served it: `datetime.isoformat()` (`+00:00`, not `Z`).
Instant = Annotated[
    datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str, when_used="json")
]
Refuse = Callable[[Exception], HTTPException | None]  # a domain error's refusal, or None
Work = Callable[[asyncpg.Connection], Awaitable[Any]]
Admitted = Callable[..., Awaitable[Principal]]


class Shape(BaseModel):
    """A response model: a field the code serves but the model does not declare fails the
    response (500) instead of being dropped or served undocumented."""

    model_config = ConfigDict(extra="forbid")


def refusals(**by_status: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: its refusals, documented with the error body, e.g.
    `refusals(r404="No such entry: `entry_not_found`")`."""
    return {
        int(status.removeprefix("r")): {"model": ErrorOut, "description": description}
        for status, description in by_status.items()
    }


def no_refusals(exc: Exception) -> HTTPException | None:
    return None


@dataclass(frozen=True)
class Endpoint:
    """A caller admitted to this route, and how to run its use case."""

    request: Request
    principal: Principal | None
    refuse: Refuse
    acting: str | None = None  # a command's: the person it is recorded against
    idempotency_key: str | None = None
    store: idempotency.Store | None = None

    @property
    def state(self) -> dict[str, Any]:
        """What the composition root put in the runtime's state (`release`, `books`, ...)."""
        state: dict[str, Any] = self.request.app.state.runtime.state
        return state

    @property
    def actor(self) -> str:
        """Who a command's change is recorded against (eventkit.acting)."""
        if self.acting is None:
            raise RuntimeError("a read has no actor: take the service's command dependency")
        return self.acting

    @property
    def db(self) -> asyncpg.Pool:
        pool: asyncpg.Pool = self.request.app.state.runtime.db
        return pool

    @asynccontextmanager
    async def refusing(self) -> AsyncIterator[None]:
        """Domain errors raised inside become the service's refusals."""
        try:
            yield
        except HTTPException:
            raise
        except Exception as exc:
            refusal = self.refuse(exc)
            if refusal is None:
                raise
            raise refusal from exc

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection without a transaction: for reads, or one statement (a webhook's
        insert), where BEGIN and COMMIT would be two round trips for nothing."""
        async with self.refusing(), self.db.acquire() as conn:
            yield conn

    async def run(self, work: Work, body: Any = None) -> Any:
        """`work(conn)` in one transaction, once per Idempotency-Key; `body` (the parsed body
        as JSON, as a client would send it again) is what makes two requests the same."""

        async def guarded(conn: asyncpg.Connection) -> Any:
            async with self.refusing():
                return self._shaped(await work(conn))

        async with self.db.acquire() as conn:
            key = self._key(body)
            if key is None or self.store is None:
                async with unit_of_work.transaction(conn):
                    return await guarded(conn)
            done = await idempotency.run(conn, self.store, key, self._status(), guarded)
        return self._served(done)

    async def run_outside(self, work: Callable[[], Awaitable[Any]], body: Any = None) -> Any:
        """`work()`, which opens its own transactions (on `db`), once per Idempotency-Key."""

        async def guarded() -> Any:
            async with self.refusing():
                return self._shaped(await work())

        key = self._key(body)
        if key is None or self.store is None:
            return await guarded()
        async with self.db.acquire() as conn:
            done = await idempotency.run_outside(conn, self.store, key, self._status(), guarded)
        return self._served(done)

    def _key(self, body: Any) -> idempotency.Key | None:
        if self.idempotency_key is None or self.principal is None:
            return None
        if isinstance(body, BaseModel):
            body = body.model_dump(mode="json")
        request = self.request
        return idempotency.Key.of(
            self.acting or self.principal.actor,
            self.idempotency_key,
            request.method,
            request.url.path,
            body,
        )

    def _route(self) -> APIRoute:
        route: APIRoute = self.request.scope["route"]
        return route

    def _status(self) -> int:
        return self._route().status_code or 200

    def _shaped(self, answer: Any) -> Any:
        """The answer as the route's response model serves it (JSON form)."""
        model = self._route().response_model
        if model is None:
            return answer
        shape = _adapter(model)
        return shape.dump_python(shape.validate_python(answer), mode="json", by_alias=True)

    def _served(self, done: idempotency.Answer) -> Any:
        if done.replayed:
            return JSONResponse(done.body, done.status, headers={"Idempotent-Replayed": "true"})
        if done.refusal is not None:
            raise done.refusal
        return done.body


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


class Endpoints:
    """A service's dependencies: `read` (caller, connection) and `command` (caller, actor,
    Idempotency-Key, transaction). `admitted` is the service's token check, None for a public
    route (a webhook); pass the router's own instance, so a token is checked once per request."""

    def __init__(
        self, admitted: Admitted | None, refuse: Refuse = no_refusals, schema: str | None = None
    ) -> None:
        self.read = Depends(self._reader(admitted, refuse))
        if admitted is not None:
            self.command = Depends(self._commander(admitted, refuse, schema))

    @staticmethod
    def _reader(admitted: Admitted | None, refuse: Refuse) -> Callable[..., Awaitable[Endpoint]]:
        if admitted is None:

            async def public(request: Request) -> Endpoint:
                return Endpoint(request, None, refuse)

            return public

        async def reader(
            request: Request, principal: Annotated[Principal, Depends(admitted)]
        ) -> Endpoint:
            return Endpoint(request, principal, refuse)

        return reader

    @staticmethod
    def _commander(
        admitted: Admitted, refuse: Refuse, schema: str | None
    ) -> Callable[..., Awaitable[Endpoint]]:
        store = idempotency.Store(schema) if schema else None

        async def commander(
            request: Request,
            principal: Annotated[Principal, Depends(admitted)],
            actor: Annotated[str, Depends(acting_actor(admitted))],
            idempotency_key: IdempotencyKey = None,
        ) -> Endpoint:
            return Endpoint(request, principal, refuse, actor, idempotency_key, store)

        if store is None:  # no table to keep answers in: the header is not offered

            async def without_key(
                request: Request,
                principal: Annotated[Principal, Depends(admitted)],
                actor: Annotated[str, Depends(acting_actor(admitted))],
            ) -> Endpoint:
                return Endpoint(request, principal, refuse, actor)

            return without_key
        return commander
