"""Finance's one endpoint dependency: who may use its HTTP API (finance staff, admins and
services, docs/security.md), the unit of work, and its refusals (eventkit.endpoint).

Every route but /healthz and the OpenAPI documents takes `READER` (a router dependency). A
read takes `Reader` (the caller, a connection); a change takes `Command`: the person it is
recorded against, from the token (or, for a service, its `X-Acting-For` header) and never from
the body, an optional Idempotency-Key (answers kept in finance.idempotency_keys), and one
transaction. Domain errors become refusals here, in one place."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException
from pydantic import Field

from domainkit.transitions import IllegalTransition
from eventkit.auth import Role, require
from eventkit.endpoint import Endpoint, Endpoints
from finance.domain.close import CloseRefused
from finance.domain.payout_queue import StaleEntry
from finance.domain.payouts import PayoutRefused
from finance.domain.reserves import InvalidPolicy
from finance.service_layer.queue_admin import UnknownPolicy

ROLES = (Role.FINANCE, Role.ADMIN, Role.SERVICE)
# One instance: FastAPI caches a dependency per request by identity, so a route taking both
# the router's READER and an endpoint decodes the token once.
reader = require(*ROLES)
READER = [Depends(reader)]


def refused(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message})


T = TypeVar("T")


def or_404(found: T | None, code: str, message: str) -> T:
    """What a read found, or a 404 refusal with `code` when it found nothing."""
    if found is None:
        raise refused(404, code, message)
    return found


def refuse(exc: Exception) -> HTTPException | None:
    """A domain error's status and code (docs/finance.md); None: not a refusal (a 500)."""
    match exc:
        case IllegalTransition():
            return refused(409, exc.code, str(exc))
        case StaleEntry():
            return refused(409, "entry_changed", str(exc))
        case PayoutRefused():
            return refused(404 if exc.code == "entry_not_found" else 409, exc.code, exc.message)
        case CloseRefused():
            return refused(409, exc.code, exc.message)
        case InvalidPolicy():
            return refused(422, exc.code, str(exc))
        case UnknownPolicy():
            return refused(422, "unknown_reserve_policy", str(exc))
    return None


_endpoints = Endpoints(reader, refuse, schema="finance")
Reader = Annotated[Endpoint, _endpoints.read]
Command = Annotated[Endpoint, _endpoints.command]
# A body's `actor`, from before the API had tokens: still accepted, so older callers keep
# working, and never used.
IgnoredActor = Annotated[
    str | None,
    Field(
        max_length=200,
        deprecated=True,
        description="Ignored: the actor is the caller's token (docs/security.md).",
    ),
]
