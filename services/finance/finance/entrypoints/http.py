"""Finance's ops HTTP surface: trial balance and a booking's journals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request

from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.adapters import ledger_repository

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])


@router.get("/trial-balance", summary="Balance per account; every currency sums to zero")
async def trial_balance(request: Request) -> dict[str, Any]:
    async with request.app.state.runtime.db.acquire() as conn:
        rows = await ledger_repository.trial_balance(conn)
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
        rows = await ledger_repository.journals_for_booking(conn, booking_id)
    return [
        {**dict(r), "journal_id": str(r["journal_id"]), "posted_at": r["posted_at"].isoformat()}
        for r in rows
    ]


def install(app: FastAPI) -> None:
    app.include_router(router)
