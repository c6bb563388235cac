"""Finance's ops HTTP surface for host payouts: what is owed per booking and its releases.

Like the ledger routes, it is served on finance's internal port (127.0.0.1), not through the
gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request

from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.entrypoints.staff_auth import READER
from finance.service_layer import ledger_views

router = APIRouter(prefix="/v1", tags=["payouts"], dependencies=READER)


def _plain(row: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(row).items()}


@router.get("/payables", summary="What each payment owes a booking's host, and its releases")
async def payables(
    request: Request, booking_id: str = Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
) -> dict[str, Any]:
    now = request.app.state.runtime.state["release"].queue.now()  # the service's clock
    async with request.app.state.runtime.db.acquire() as conn:
        rows, releases = await ledger_views.payables(conn, booking_id, now)
    listed = [{**_plain(row), **derived} for row, derived in rows]
    return {
        "booking_id": booking_id,
        "payables": listed,
        "releases": [_plain(r) for r in releases],
    }


def install(app: FastAPI) -> None:
    app.include_router(router)
