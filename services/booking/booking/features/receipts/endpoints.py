"""Gateway routes of receipts: JSON and a printable HTML page, for the guest who paid."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from booking.entrypoints.auth import Principal, Role, require_role
from booking.entrypoints.common import ERRORS, Reader
from booking.entrypoints.fields import PathId
from booking.features.receipts import service as receipts
from booking.features.receipts.views import receipt_html

router = APIRouter(prefix="/v1", tags=["receipts"], responses=ERRORS)


def _guest_scope(principal: Principal) -> str | None:
    """Guests see their own receipts; admins everyone's (None)."""
    require_role(principal, Role.GUEST, Role.ADMIN)
    return None if principal.role == Role.ADMIN else principal.sub


@router.get(
    "/receipts",
    summary="The caller's receipts, newest first",
    description="One per captured payment, extra charge (amendment, overtime) and refund: the "
    "amounts, fees, tax and per-booking amounts as payments recorded them, the card (brand and "
    "last 4 digits), the line items of the booking's quote, and the ledger journal once "
    "finance posted it.",
)
async def list_receipts(read: Reader) -> list[dict[str, Any]]:
    async with read.connection() as conn:
        return await receipts.list_for(conn, _guest_scope(read.principal))


@router.get("/receipts/{receipt_id}", summary="One receipt (JSON)")
async def get_receipt(receipt_id: PathId, read: Reader) -> dict[str, Any]:
    async with read.connection() as conn:
        return await receipts.get_for(conn, receipt_id, _guest_scope(read.principal))


@router.get(
    "/receipts/{receipt_id}/html",
    response_class=HTMLResponse,
    summary="One receipt as a printable page",
)
async def get_receipt_html(receipt_id: PathId, read: Reader) -> HTMLResponse:
    async with read.connection() as conn:
        receipt = await receipts.get_for(conn, receipt_id, _guest_scope(read.principal))
    return HTMLResponse(receipt_html(receipt))
