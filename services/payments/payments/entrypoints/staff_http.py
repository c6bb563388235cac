"""Payments' staff read API: a payment by id, a booking's payments, refunds (docs/api.md).

Read only, for staff and services (entrypoints/staff.py says who). Errors use the project's
body: 401 `unauthenticated`, 403 `forbidden`, 404 `payment_not_found`, 422
`validation_failed` (neither filter given)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query

from eventkit.endpoint import refusals
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from payments.entrypoints.schemas import Payment, Refund
from payments.entrypoints.staff import READER, Reader
from payments.service_layer import staff_views

router = APIRouter(prefix="/v1", tags=["staff reads"], dependencies=READER)
Id = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Filter = Annotated[str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]


@router.get(
    "/payments/{payment_id}",
    summary="One payment",
    responses=refusals(r404="No such payment: `payment_not_found`"),
)
async def get_payment(call: Reader, payment_id: Id) -> Payment:
    async with call.refusing():
        return Payment.model_validate(await staff_views.payment(call.db, payment_id))


@router.get("/payments", summary="A booking's payments (or a group's)")
async def list_payments(
    call: Reader,
    booking_id: Annotated[str, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
) -> list[Payment]:
    found = await staff_views.payments_of_booking(call.db, booking_id)
    return [Payment.model_validate(p) for p in found]


@router.get("/refunds", summary="A payment's or a booking's refunds")
async def list_refunds(
    call: Reader, payment_id: Filter = None, booking_id: Filter = None
) -> list[Refund]:
    async with call.refusing():
        found = await staff_views.refunds(call.db, payment_id=payment_id, booking_id=booking_id)
    return [Refund.model_validate(r) for r in found]


def install(app: FastAPI) -> None:
    app.include_router(router)
