"""Finance's ops HTTP surface for host payouts: what is owed per booking and its releases.

Like the ledger routes, it is served on finance's internal port (127.0.0.1), not through the
gateway."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Query

from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.entrypoints.schemas import Payables
from finance.entrypoints.staff import READER, Reader
from finance.service_layer import ledger_views

router = APIRouter(prefix="/v1", tags=["payouts"], dependencies=READER)


@router.get("/payables", summary="What each payment owes a booking's host, and its releases")
async def payables(
    call: Reader, booking_id: str = Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
) -> Payables:
    now = call.state["release"].queue.now()  # the service's clock
    async with call.connect() as conn:
        return Payables.model_validate(await ledger_views.payables(conn, booking_id, now))


def install(app: FastAPI) -> None:
    app.include_router(router)
