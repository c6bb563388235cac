"""Gateway routes of receipts: JSON and a printable HTML page, for the guest who paid."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from booking.domain.pages import Filters, Scope
from booking.entrypoints.auth import Principal, Role, require_role
from booking.entrypoints.common import ERRORS, Reader
from booking.entrypoints.fields import PathId
from booking.entrypoints.lists_http import Page
from booking.features.receipts import service as receipts
from booking.features.receipts.views import receipt_html
from booking.service_layer import lists
from booking.service_layer.lists import PageRequest
from eventkit.http_errors import ErrorOut

router = APIRouter(prefix="/v1", tags=["receipts"], responses=ERRORS)


def _guest_scope(principal: Principal) -> str | None:
    """Guests see their own receipts; admins everyone's (None)."""
    require_role(principal, Role.GUEST, Role.ADMIN)
    return None if principal.role == Role.ADMIN else principal.sub


class ReceiptPage(BaseModel):
    data: list[dict[str, Any]] = Field(description="As `GET /v1/receipts/{id}` shows each.")
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null: the last page."
    )


@router.get(
    "/receipts",
    response_model=ReceiptPage,
    responses={
        422: {
            "model": ErrorOut,
            "description": "A parameter does not validate (`validation_failed`) or the cursor "
            "is not this list's (`invalid_cursor`).",
        }
    },
    summary="The caller's receipts, newest first, cursor-paginated",
    description="One per captured payment, extra charge (amendment, overtime) and refund: the "
    "amounts, fees, tax and per-booking amounts as payments recorded them, the card (brand and "
    "last 4 digits), the line items of the booking's quote, and the ledger journal once "
    "finance posted it. A guest's own; an admin's, everyone's. Newest first (`issued_at`, "
    "then `receipt_id`), `limit` a page, `next_cursor` for the next one.",
)
async def list_receipts(page: Page) -> dict[str, Any]:
    scope = Scope(guest_id=_guest_scope(page.read.principal))
    ask = PageRequest(scope, Filters(), page.cursor, page.limit)
    async with page.read.connection() as conn:
        return await lists.receipts(conn, ask)


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
