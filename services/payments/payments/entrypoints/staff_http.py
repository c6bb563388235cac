"""Payments' staff read API: a payment by id, a booking's payments, refunds (docs/api.md).

Read only, for staff and services: roles admin, finance, trust and service (ops's back office
calls it with its own service token). Errors use the project's body: 401 `unauthenticated`,
403 `forbidden`, 404 `payment_not_found`, 422 `validation_failed` (neither filter given)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request

from eventkit.auth import Role, require
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from payments.service_layer import staff_views

READER = require(Role.ADMIN, Role.FINANCE, Role.TRUST, Role.SERVICE)
router = APIRouter(prefix="/v1", tags=["staff reads"], dependencies=[Depends(READER)])
Id = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]
Filter = Annotated[str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)]


def _pool(request: Request) -> Any:
    return request.app.state.runtime.db


@router.get("/payments/{payment_id}", summary="One payment")
async def get_payment(request: Request, payment_id: Id) -> dict[str, Any]:
    try:
        return await staff_views.payment(_pool(request), payment_id)
    except staff_views.PaymentNotFound as exc:
        raise HTTPException(404, {"code": "payment_not_found", "message": str(exc)}) from None


@router.get("/payments", summary="A booking's payments (or a group's)")
async def list_payments(
    request: Request,
    booking_id: Annotated[str, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
) -> list[dict[str, Any]]:
    return await staff_views.payments_of_booking(_pool(request), booking_id)


@router.get("/refunds", summary="A payment's or a booking's refunds")
async def list_refunds(
    request: Request, payment_id: Filter = None, booking_id: Filter = None
) -> list[dict[str, Any]]:
    try:
        return await staff_views.refunds(
            _pool(request), payment_id=payment_id, booking_id=booking_id
        )
    except ValueError as exc:
        raise HTTPException(422, {"code": "validation_failed", "message": str(exc)}) from None


def install(app: FastAPI) -> None:
    app.include_router(router)
