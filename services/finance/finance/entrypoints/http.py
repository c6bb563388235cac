"""Finance's ops HTTP surface: trial balance, a booking's journals, a dispute's books."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path, Request

from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.entrypoints.staff_auth import READER
from finance.service_layer import ledger_views
from finance.service_layer.queue_admin import plain

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], dependencies=READER)


@router.get("/trial-balance", summary="Balance per account; every currency sums to zero")
async def trial_balance(request: Request) -> dict[str, Any]:
    async with request.app.state.runtime.db.acquire() as conn:
        rows = await ledger_views.trial_balance(conn)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], 0) + row["balance"]
    return {
        "accounts": [dict(r) for r in rows],
        "totals": totals,
        "balanced": all(v == 0 for v in totals.values()),
    }


@router.get("/bookings/{booking_id}", summary="Journals posted for one booking")
async def booking_journals(
    request: Request,
    booking_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
) -> list[dict[str, Any]]:
    async with request.app.state.runtime.db.acquire() as conn:
        rows = await ledger_views.booking_journals(conn, booking_id)
    return [
        {**dict(r), "journal_id": str(r["journal_id"]), "posted_at": r["posted_at"].isoformat()}
        for r in rows
    ]


@router.get(
    "/disputes/{dispute_id}",
    summary="A card dispute's journals (withdrawal, fee, reinstatement, loss) and how each host "
    "share of a loss is recovered",
)
async def dispute_books(
    request: Request,
    dispute_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
) -> dict[str, Any]:
    """`dispute_id` is ours (`dsp_…`) or Stripe's (`du_…`): ours is Stripe's without `du_`."""
    processor = "du_" + dispute_id.removeprefix("dsp_").removeprefix("du_")
    ours = "dsp_" + processor.removeprefix("du_")
    async with request.app.state.runtime.db.acquire() as conn:
        recoveries, rows = await ledger_views.dispute_books(conn, processor, ours)
    if not rows and not recoveries:
        raise HTTPException(
            404,
            {"code": "dispute_not_found", "message": f"finance booked nothing for {dispute_id}"},
        )
    journals: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = {}
    for r in rows:
        journal = journals.setdefault(
            str(r["journal_id"]),
            {
                "journal_id": str(r["journal_id"]),
                "kind": r["kind"],
                "booking_id": r["booking_id"],
                "currency": r["currency"],
                "posted_at": r["posted_at"].isoformat(),
                "postings": [],
            },
        )
        journal["postings"].append({"account": r["account"], "amount": r["amount"]})
        totals[r["account"]] = totals.get(r["account"], 0) + r["amount"]
    return {
        "dispute_id": ours,
        "processor_dispute_id": processor,
        "journals": list(journals.values()),
        "totals": {account: amount for account, amount in totals.items() if amount},
        "recoveries": [plain(r) for r in recoveries],
    }


def install(app: FastAPI) -> None:
    app.include_router(router)
