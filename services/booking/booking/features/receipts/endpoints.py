"""Gateway routes of receipts: JSON and a printable HTML page, for the guest who paid."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from booking.entrypoints.auth import CurrentPrincipal, Principal, Role, require_role
from booking.entrypoints.common import ERRORS, runtime_of
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
async def list_receipts(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    async with runtime_of(request).db.acquire() as conn:
        return await receipts.list_for(conn, _guest_scope(principal))


@router.get("/receipts/{receipt_id}", summary="One receipt (JSON)")
async def get_receipt(
    request: Request, receipt_id: PathId, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with runtime_of(request).db.acquire() as conn:
        return await receipts.get_for(conn, receipt_id, _guest_scope(principal))


@router.get(
    "/receipts/{receipt_id}/html",
    response_class=HTMLResponse,
    summary="One receipt as a printable page",
)
async def get_receipt_html(
    request: Request, receipt_id: PathId, principal: CurrentPrincipal
) -> HTMLResponse:
    async with runtime_of(request).db.acquire() as conn:
        receipt = await receipts.get_for(conn, receipt_id, _guest_scope(principal))
    return HTMLResponse(receipt_html(receipt))
