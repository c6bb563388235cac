"""Finance's ops HTTP surface for the books: reconciliation runs and exceptions, daily closes
and their reports (JSON or CSV). Served on finance's internal port, like the ledger routes, to
finance, admin and service tokens; a change is recorded against the token's person (a body
`actor` is accepted and ignored)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from eventkit import acting
from finance.domain.close import Acknowledgement, CloseRefused
from finance.domain.reconciliation import ExceptionKind
from finance.entrypoints.books_report import report_csv
from finance.entrypoints.staff_auth import READER, Actor, IgnoredActor
from finance.service_layer import books_views
from finance.service_layer.books import Books

router = APIRouter(prefix="/v1", tags=["books"], dependencies=READER)
CURRENCY = Path(pattern=r"^[a-z]{3}$")


def _books(request: Request) -> Books:
    books: Books = request.app.state.runtime.state["books"]
    return books


def plain_exception(row: Any, books: Books) -> dict[str, Any]:
    found = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in dict(row).items()}
    found["age_seconds"] = int((books.now() - row["raised_at"]).total_seconds())
    return found


class Resolution(BaseModel):
    actor: IgnoredActor = None
    note: str = Field(min_length=1, max_length=2000)


class CloseRequest(BaseModel):
    business_date: date | None = Field(default=None, description="Default: yesterday.")
    currency: str | None = Field(default=None, pattern=r"^[a-z]{3}$")


class AcknowledgementIn(BaseModel):
    item: str = Field(min_length=1, max_length=100, examples=["stripe_available", "exception:7"])
    amount: int = Field(description="The difference acknowledged (0 for an exception).")
    actor: IgnoredActor = None
    note: str = Field(min_length=1, max_length=2000)


@router.post("/reconciliation/runs", summary="Import Stripe's balance transactions and match")
async def run_reconciliation(request: Request, _: Actor) -> dict[str, Any]:
    books = _books(request)
    imported, matched = await books.reconciler.run(request.app.state.runtime.db)
    return {"import": imported.__dict__, "match": matched.__dict__}


@router.get("/reconciliation/exceptions", summary="Reconciliation exceptions, oldest first")
async def list_exceptions(
    request: Request,
    status: Literal["open", "resolved"] | None = "open",
    kind: ExceptionKind | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    after: Annotated[int, Query(ge=0, description="Cursor: the last exception_id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    books = _books(request)
    async with request.app.state.runtime.db.acquire() as conn:
        rows = await books_views.exceptions(
            conn, status=status, kind=kind, currency=currency, after=after, limit=limit
        )
    items = [plain_exception(r, books) for r in rows]
    return {
        "items": items,
        "next_after": items[-1]["exception_id"] if len(items) == limit else None,
    }


@router.post("/reconciliation/exceptions/{exception_id}/resolve", summary="Resolve with a note")
async def resolve_exception(
    request: Request, exception_id: int, body: Annotated[Resolution, Body()], actor: Actor
) -> dict[str, Any]:
    books = _books(request)
    async with request.app.state.runtime.db.acquire() as conn:
        row = await books_views.resolve(conn, exception_id, actor, body.note, books.now())
        if row is None:
            found = await books_views.exception(conn, exception_id)
            if found is None:
                code, message = "exception_not_found", f"no reconciliation exception {exception_id}"
            else:
                code = "exception_not_open"
                message = f"exception {exception_id} is already {found['status']}"
            raise HTTPException(404 if found is None else 409, {"code": code, "message": message})
    return plain_exception(row, books)


@router.post("/closes", summary="Close a business day (every currency unless one is given)")
async def close_day(
    request: Request, body: Annotated[CloseRequest, Body()], _: Actor
) -> dict[str, Any]:
    books = _books(request)
    day = body.business_date or books.daily_close.yesterday()
    try:
        outcomes = await books.daily_close.close(request.app.state.runtime.db, day, body.currency)
    except CloseRefused as exc:
        raise HTTPException(409, {"code": exc.code, "message": exc.message}) from exc
    return {"closes": [o.report for o in outcomes]}


@router.get("/closes", summary="Closes, newest first")
async def list_closes(
    request: Request, currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None
) -> list[dict[str, Any]]:
    async with request.app.state.runtime.db.acquire() as conn:
        rows = await books_views.closes(conn, currency)
    return [
        dict(r)
        | {k: r[k].isoformat() for k in ("business_date", "updated_at") if r[k]}
        | {"closed_at": r["closed_at"].isoformat() if r["closed_at"] else None}
        for r in rows
    ]


@router.get("/closes/{business_date}/{currency}", summary="A close's report (JSON or CSV)")
async def close_report(
    request: Request,
    business_date: date,
    currency: Annotated[str, CURRENCY],
    format: Literal["json", "csv"] = "json",
) -> Any:
    async with request.app.state.runtime.db.acquire() as conn:
        row = await books_views.close(conn, business_date, currency)
    if row is None:
        raise HTTPException(404, {"code": "close_not_found", "message": "no close of that day"})
    report = row["report"]
    if format == "csv":
        return Response(report_csv(report), media_type="text/csv")
    return report


@router.post(
    "/closes/{business_date}/{currency}/acknowledgements",
    summary="Acknowledge a known difference or exception, so the day can close",
)
async def acknowledge(
    request: Request,
    business_date: date,
    currency: Annotated[str, CURRENCY],
    body: Annotated[AcknowledgementIn, Body()],
    actor: Actor,
) -> dict[str, Any]:
    ack = Acknowledgement(body.item, body.amount, body.note, actor)
    try:
        await _books(request).daily_close.acknowledge(
            request.app.state.runtime.db, business_date, currency, ack
        )
    except CloseRefused as exc:
        raise HTTPException(409, {"code": exc.code, "message": exc.message}) from exc
    return {"business_date": business_date.isoformat(), "currency": currency, **ack.__dict__}


def install(app: FastAPI) -> None:
    acting.document(router.routes)  # 400 `acting_for_required` where a change names its actor
    app.include_router(router)
