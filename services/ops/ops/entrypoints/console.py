"""The staff console under /console: server-rendered pages over the same GraphQL schema.

Every page runs its GraphQL operation in process with the signed-in staff member as the
principal, so the console can do exactly what the API lets that role do, and shows the API's
refusals as sentences. An area is one route and one template, listed in `NAV`; the finance,
trust and booking areas plug in the same way once their resolvers exist.

The token lives in an HttpOnly, SameSite=Strict cookie. SameSite alone does not keep the
forms safe (another port of the same host is the same site), so `console_guard` refuses a form
a browser sent from any page but the console's own, keeps other sites from framing the pages
and browsers from keeping them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from eventkit.auth import DEV_JWT_SECRET, AuthError, Principal, Role, decode_token, issue_token
from ops.entrypoints.console_guard import ConsoleGuard
from ops.entrypoints.graphql_app import context_for

COOKIE = "ops_token"
PAGE = 20
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
# A value the API left out (null) shows as nothing, never as the word "None".
templates.env.finalize = lambda value: "" if value is None else value


@dataclass(frozen=True)
class NavEntry:
    path: str
    label: str
    roles: frozenset[Role]


# One line per area; a role sees the areas it may use. Finance (payouts, reserves, daily close,
# reconciliation) and trust (disputes) pages are added here by their modules.
NAV: list[NavEntry] = [
    NavEntry("/console/timeline", "Search & timeline", frozenset({Role.ADMIN, Role.FINANCE, Role.TRUST})),
    NavEntry("/console/stuck", "Stuck sagas", frozenset({Role.ADMIN, Role.FINANCE, Role.TRUST})),
    NavEntry("/console/dead-letters", "Dead letters", frozenset({Role.ADMIN, Role.FINANCE})),
    NavEntry("/console/payouts", "Payouts", frozenset({Role.ADMIN, Role.FINANCE})),
    NavEntry("/console/reserves", "Reserves", frozenset({Role.ADMIN, Role.FINANCE})),
    NavEntry("/console/closes", "Daily close", frozenset({Role.ADMIN, Role.FINANCE})),
    NavEntry("/console/reconciliation", "Reconciliation", frozenset({Role.ADMIN, Role.FINANCE})),
    NavEntry("/console/payments", "Payments", frozenset({Role.ADMIN, Role.FINANCE, Role.TRUST})),
    NavEntry("/console/disputes", "Disputes", frozenset({Role.ADMIN, Role.TRUST, Role.FINANCE})),
    NavEntry("/console/bookings", "Bookings & claims", frozenset({Role.ADMIN, Role.TRUST})),
    NavEntry("/console/cancellation-policies", "Cancellation policies", frozenset({Role.ADMIN, Role.TRUST})),
]  # fmt: skip

router = APIRouter(prefix="/console", include_in_schema=False)


class SignedOut(Exception):
    """No usable token: the page sends the browser to the sign-in form."""


def principal_of(request: Request) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignedOut
    try:
        principal = decode_token(request.app.state.jwt_secret, token)
    except AuthError:
        raise SignedOut from None
    if principal.role not in (Role.ADMIN, Role.FINANCE, Role.TRUST):
        raise SignedOut
    return principal


class Refusal(str):
    """A sentence the console shows, with the code it was refused with (GraphQL's
    `extensions.code`, or `invalid_request` for what the console itself found wrong in a form)
    and, for a service's refusal, that service's HTTP status (`extensions.status`)."""

    code: str
    status: int | None

    def __new__(
        cls, sentence: str, code: str = "invalid_request", status: int | None = None
    ) -> Refusal:
        made = super().__new__(cls, sentence)
        made.code, made.status = code, status
        return made


# The HTTP status of a page showing a refusal of what was posted: the service's own status
# when a service refused, else by the refusal's code; any other code is the state of things
# refusing (409).
STATUSES = {
    "forbidden": 403,
    "not_found": 404,
    "invalid_request": 422,
    "validation_failed": 422,
    "malformed_json": 422,
    "internal_error": 500,
    "service_unavailable": 503,
}


def refusal_status(errors: list[str]) -> int:
    first = errors[0]
    status = getattr(first, "status", None)
    if status is not None:
        return int(status)
    code = getattr(first, "code", "invalid_request")
    return STATUSES.get(code, 404 if code.endswith("_not_found") else 409)


async def run(request: Request, principal: Principal, query: str, **variables: Any) -> Any:
    """One GraphQL operation as this staff member: (data, refusals as sentences)."""
    schema = request.app.state.graphql_schema
    result = await schema.execute(
        query,
        variable_values=variables,
        context_value=context_for(request, principal, request.cookies.get(COOKIE, "")),
    )
    return result.data, [
        Refusal(
            e.message,
            str((e.extensions or {}).get("code", "internal_error")),
            (e.extensions or {}).get("status"),
        )
        for e in result.errors or ()
    ]


def render(request: Request, principal: Principal, name: str, **values: Any) -> HTMLResponse:
    """The page; one showing a refusal of a posted form answers with the refusal's status
    (`refusal_status`), so that a script or a test posting it sees it was refused."""
    nav = [n for n in NAV if principal.role in n.roles]
    errors = values.get("errors")
    status = refusal_status(errors) if request.method == "POST" and errors else 200
    return templates.TemplateResponse(
        request,
        name,
        {"me": principal, "nav": nav, "path": request.url.path, **values},
        status_code=status,
    )


def pages(total: int, offset: int) -> dict[str, int | None]:
    return {
        "prev": max(offset - PAGE, 0) if offset > 0 else None,
        "next": offset + PAGE if offset + PAGE < total else None,
        "from": offset + 1 if total else 0,
        "to": min(offset + PAGE, total),
    }


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, error: str | None = None) -> HTMLResponse:
    return _sign_in_page(request, error)


def _sign_in_page(request: Request, error: str | None, status: int = 200) -> HTMLResponse:
    dev = request.app.state.jwt_secret == DEV_JWT_SECRET
    return templates.TemplateResponse(
        request,
        "sign_in.html",
        {"dev": dev, "error": error, "me": None, "nav": []},
        status_code=status,
    )


@router.post("/sign-in")
async def sign_in(
    request: Request,
    token: str = Form(""),
    sub: str = Form(""),
    role: str = Form(""),
) -> Response:
    secret = request.app.state.jwt_secret
    token, sub = token.strip(), sub.strip()
    if not token and not sub:
        return _sign_in_page(request, "Paste a token, or give your name and a role.", 422)
    if not token and sub:
        # Minting is for development only: with a real secret, staff paste a token.
        if secret != DEV_JWT_SECRET:
            return _sign_in_page(request, "Sign-in by name works only in development.", 403)
        if role not in ("admin", "finance", "trust"):
            return _sign_in_page(request, "Choose admin, finance or trust.", 422)
        if len(sub) > 100:  # recorded as it is with every action, never cut short
            return _sign_in_page(request, "Give a name of at most 100 characters.", 422)
        try:
            token = issue_token(secret, sub, role, ttl_seconds=12 * 3600)
        except ValueError:  # a name of more than one line, or with control characters
            return _sign_in_page(request, "Give your name on one line.", 422)
    try:
        principal = decode_token(secret, token.strip())
    except AuthError:
        return _sign_in_page(request, "That token is not valid here (expired or not ours).", 401)
    if principal.role not in (Role.ADMIN, Role.FINANCE, Role.TRUST):
        return _sign_in_page(request, f"A {principal.role} token cannot use the console.", 403)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", max_age=12 * 3600)
    return response


@router.post("/sign-out")
async def sign_out() -> Response:
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("")
async def home(request: Request) -> Response:
    principal = principal_of(request)
    first = next((n.path for n in NAV if principal.role in n.roles), "/console/sign-in")
    return RedirectResponse(first, status_code=303)


def install(app: FastAPI) -> None:
    from ops.entrypoints import (
        console_finance,
        console_pages,
        console_trust,
        console_trust_bookings,
    )

    @app.exception_handler(SignedOut)
    async def _signed_out(request: Request, exc: SignedOut) -> Response:
        return RedirectResponse("/console/sign-in", status_code=303)

    app.add_middleware(ConsoleGuard)
    app.include_router(router)
    app.include_router(console_pages.router)
    console_finance.install(app)
    app.include_router(console_trust.router)
    app.include_router(console_trust_bookings.router)


def new_token() -> str:
    """An idempotency token per rendered form: a double submit is one action."""
    return str(uuid.uuid4())
