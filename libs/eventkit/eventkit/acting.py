"""Who a staff change is recorded against: the caller, or the person a service acts for.

A person's token names the person (`sub`). A service calling on a person's behalf (the ops
console, with its own `service` token) names them in the `X-Acting-For` header; a change it
makes is recorded as `<person> via service:<service>`, so the audit trail keeps both. A
service that names nobody may read but not change anything: 400 `acting_for_required`. The
header is ignored for people: their token already says who they are (docs/security.md).
"""

# No `from __future__ import annotations`: FastAPI must see `Depends(admitted)` (a closure
# variable) evaluated, not as a string it cannot resolve.
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from eventkit.auth import Principal, Role
from eventkit.http_errors import ErrorOut

ACTING_FOR_HEADER = "X-Acting-For"
# A person's `sub` as tokens carry it: e-mail addresses and ids, no spaces or controls.
ACTING_FOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]*$"


def acting_actor(principal: Principal, acting_for: str | None) -> str:
    """The actor a change records (pure, so it is testable without HTTP)."""
    if principal.role is not Role.SERVICE:
        return principal.actor
    if not acting_for:
        raise HTTPException(
            400,
            {
                "code": "acting_for_required",
                "message": f"a service changing something names the person it acts for in "
                f"the {ACTING_FOR_HEADER} header",
            },
        )
    return f"{acting_for} via {principal.actor}"


def actor(
    admitted: Callable[..., Awaitable[Principal]],
) -> Callable[..., Awaitable[str]]:
    """A dependency giving the actor of a change, on top of `admitted` (an `auth.require(...)`
    dependency: pass the router's own, so the token is checked once per request)."""

    async def acting(
        principal: Annotated[Principal, Depends(admitted)],
        x_acting_for: Annotated[
            str | None,
            Header(
                alias=ACTING_FOR_HEADER,
                max_length=200,
                pattern=ACTING_FOR_PATTERN,
                description="For a `service` caller: the staff member it acts for.",
            ),
        ] = None,
    ) -> str:
        return acting_actor(principal, x_acting_for)

    acting.records_actor = True  # type: ignore[attr-defined]
    return acting


def _acts(dependant: Dependant) -> bool:
    return any(getattr(d.call, "records_actor", False) or _acts(d) for d in dependant.dependencies)


def document(routes: Iterable[BaseRoute]) -> None:
    """Add the 400 `acting_for_required` to the OpenAPI of every route taking an actor (call
    it after the routes are defined, before the document is first served)."""
    what = "A service names nobody in X-Acting-For: `acting_for_required`"
    for route in routes:
        if isinstance(route, APIRoute) and _acts(route.dependant):
            body = "The body is not valid JSON: `malformed_json`; or " if route.body_field else ""
            doc: dict[str, Any] = {"model": ErrorOut, "description": body + what}
            route.responses.setdefault(400, doc)
