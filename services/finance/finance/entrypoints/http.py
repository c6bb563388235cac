"""Finance's ops HTTP surface: trial balance, a booking's journals, a dispute's books."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path

from eventkit.endpoint import refusals
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.entrypoints.schemas import DisputeBooks, JournalLine, TrialBalance
from finance.entrypoints.staff import READER, Reader, or_404
from finance.service_layer import ledger_views

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], dependencies=READER)
Id = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]


@router.get("/trial-balance", summary="Balance per account; every currency sums to zero")
async def trial_balance(call: Reader) -> TrialBalance:
    async with call.connect() as conn:
        return TrialBalance.model_validate(await ledger_views.trial_balance(conn))


@router.get("/bookings/{booking_id}", summary="Journals posted for one booking")
async def booking_journals(call: Reader, booking_id: Id) -> list[JournalLine]:
    async with call.connect() as conn:
        lines: list[dict[str, Any]] = await ledger_views.booking_journals(conn, booking_id)
    return [JournalLine.model_validate(line) for line in lines]


@router.get(
    "/disputes/{dispute_id}",
    summary="A card dispute's journals (withdrawal, fee, reinstatement, loss) and how each host "
    "share of a loss is recovered",
    responses=refusals(r404="Finance booked nothing for it: `dispute_not_found`"),
)
async def dispute_books(call: Reader, dispute_id: Id) -> DisputeBooks:
    """`dispute_id` is ours (`dsp_…`) or Stripe's (`du_…`): ours is Stripe's without `du_`."""
    async with call.connect() as conn:
        books = await ledger_views.dispute_books(conn, dispute_id)
    message = f"finance booked nothing for {dispute_id}"
    return DisputeBooks.model_validate(or_404(books, "dispute_not_found", message))


def install(app: FastAPI) -> None:
    app.include_router(router)
