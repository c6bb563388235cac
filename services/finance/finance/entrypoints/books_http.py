"""Finance's ops HTTP surface for the books: reconciliation runs and exceptions, daily closes
and their reports (JSON or CSV). Served on finance's internal port, like the ledger routes, to
finance, admin and service tokens; a change is recorded against the token's person (a body
`actor` is accepted and ignored) and may carry an Idempotency-Key (eventkit.endpoint)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Path, Query, Response
from pydantic import Field

from eventkit import acting
from eventkit.endpoint import refusals
from eventkit.fields import (
    MAX_ROW_ID,
    BusinessDate,
    Currency,
    RequestBody,
    RequiredNote,
    RowId,
    SignedAmount,
)
from finance.domain.close import Acknowledgement
from finance.domain.reconciliation import ExceptionKind
from finance.entrypoints.books_report import report_csv
from finance.entrypoints.schemas import (
    AcknowledgementOut,
    Closes,
    CloseSummary,
    ExceptionPage,
    ReconciliationRun,
    ReconException,
)
from finance.entrypoints.staff import READER, Command, IgnoredActor, Reader, or_404, refused
from finance.service_layer import books_views
from finance.service_layer.books import Books

router = APIRouter(prefix="/v1", tags=["books"], dependencies=READER)
CURRENCY = Path(pattern=r"^[a-z]{3}$")
CLOSE_REFUSED = refusals(r409="The day cannot be closed or acknowledged now (its code says why)")


def plain_exception(row: Any, books: Books) -> dict[str, Any]:
    found = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in dict(row).items()}
    found["age_seconds"] = int((books.now() - row["raised_at"]).total_seconds())
    return found


class Resolution(RequestBody):
    actor: IgnoredActor = None
    note: RequiredNote


class CloseRequest(RequestBody):
    business_date: BusinessDate | None = Field(default=None, description="Default: yesterday.")
    currency: Currency | None = None


class AcknowledgementIn(RequestBody):
    item: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z_]+(:[1-9][0-9]{0,18})?$",
        examples=["stripe_available", "exception:7"],
    )
    amount: SignedAmount = Field(description="The difference acknowledged (0 for an exception).")
    actor: IgnoredActor = None
    note: RequiredNote


@router.post("/reconciliation/runs", summary="Import Stripe's balance transactions and match")
async def run_reconciliation(
    call: Command,
    full: Annotated[
        bool,
        Query(
            description="Re-read every pending balance transaction and judge every object "
            "(as the daily close does), not only what changed since the last round."
        ),
    ] = False,
) -> ReconciliationRun:
    books: Books = call.state["books"]

    async def work() -> dict[str, Any]:
        imported, matched = await books.reconciler.run(call.db, full=full)
        return {"import": imported.__dict__, "match": matched.__dict__}

    return await call.run_outside(work, {"full": full})


@router.get("/reconciliation/exceptions", summary="Reconciliation exceptions, oldest first")
async def list_exceptions(
    call: Reader,
    status: Literal["open", "resolved"] | None = "open",
    kind: ExceptionKind | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_ID, description="Cursor: the last exception_id seen")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ExceptionPage:
    books: Books = call.state["books"]
    async with call.connect() as conn:
        rows = await books_views.exceptions(
            conn, status=status, kind=kind, currency=currency, after=after, limit=limit
        )
    items = [plain_exception(r, books) for r in rows]
    next_after = items[-1]["exception_id"] if len(items) == limit else None
    return ExceptionPage.model_validate({"items": items, "next_after": next_after})


@router.post(
    "/reconciliation/exceptions/{exception_id}/resolve",
    summary="Resolve with a note",
    responses=refusals(
        r404="No such exception: `exception_not_found`",
        r409="It is not open: `exception_not_open`",
    ),
)
async def resolve_exception(
    call: Command, exception_id: Annotated[RowId, Path()], body: Annotated[Resolution, Body()]
) -> ReconException:
    books: Books = call.state["books"]

    async def work(conn: Any) -> dict[str, Any]:
        row = await books_views.resolve(conn, exception_id, call.actor, body.note, books.now())
        if row is not None:
            return plain_exception(row, books)
        missing = f"no reconciliation exception {exception_id}"
        found = or_404(
            await books_views.exception(conn, exception_id), "exception_not_found", missing
        )
        message = f"exception {exception_id} is already {found['status']}"
        raise refused(409, "exception_not_open", message)

    return await call.run(work, body)


@router.post(
    "/closes",
    summary="Close a business day (every currency unless one is given)",
    responses=CLOSE_REFUSED,
)
async def close_day(call: Command, body: Annotated[CloseRequest, Body()]) -> Closes:
    books: Books = call.state["books"]
    day = body.business_date or books.daily_close.yesterday()

    async def work() -> dict[str, Any]:
        outcomes = await books.daily_close.close(call.db, day, body.currency)
        return {"closes": [o.report for o in outcomes]}

    return await call.run_outside(work, body)


@router.get("/closes", summary="Closes, newest first")
async def list_closes(
    call: Reader, currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None
) -> list[CloseSummary]:
    async with call.connect() as conn:
        rows = await books_views.closes(conn, currency)
    return [CloseSummary.model_validate(dict(r)) for r in rows]


@router.get(
    "/closes/{business_date}/{currency}",
    summary="A close's report (JSON or CSV)",
    response_model=dict[str, Any],
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **refusals(r404="No close of that day: `close_not_found`"),
    },
)
async def close_report(
    call: Reader,
    business_date: Annotated[BusinessDate, Path()],
    currency: Annotated[str, CURRENCY],
    format: Literal["json", "csv"] = "json",
) -> Any:
    async with call.connect() as conn:
        row = await books_views.close(conn, business_date, currency)
    report = or_404(row, "close_not_found", "no close of that day")["report"]
    if format == "csv":
        return Response(report_csv(report), media_type="text/csv")
    return report


@router.post(
    "/closes/{business_date}/{currency}/acknowledgements",
    summary="Acknowledge a known difference or exception, so the day can close",
    responses=CLOSE_REFUSED,
)
async def acknowledge(
    call: Command,
    business_date: Annotated[BusinessDate, Path()],
    currency: Annotated[str, CURRENCY],
    body: Annotated[AcknowledgementIn, Body()],
) -> AcknowledgementOut:
    books: Books = call.state["books"]
    ack = Acknowledgement(body.item, body.amount, body.note, call.actor)

    async def work() -> dict[str, Any]:
        await books.daily_close.acknowledge(call.db, business_date, currency, ack)
        return {"business_date": business_date.isoformat(), "currency": currency, **ack.__dict__}

    return await call.run_outside(work, body)


def install(app: FastAPI) -> None:
    acting.document(router.routes)  # 400 `acting_for_required` where a change names its actor
    app.include_router(router)
