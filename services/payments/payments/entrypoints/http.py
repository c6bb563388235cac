"""Payments' HTTP surface: the Stripe webhook endpoint."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse

from payments.service_layer.webhooks import (
    ALLOWED_TYPES,
    WebhookRejected,
    store_event,
    verified_event,
)

router = APIRouter()


@router.post("/webhooks/stripe", tags=["webhooks"], summary="Stripe webhook receiver")
async def stripe_webhook(
    request: Request,
    stripe_signature: str = Header(default="", alias="Stripe-Signature", max_length=4096),
) -> JSONResponse:
    payload = await request.body()
    try:
        event = verified_event(payload, stripe_signature, request.app.state.webhook_secret)
    except WebhookRejected as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, 400)
    if event["type"] not in ALLOWED_TYPES:  # answered, so Stripe stops sending it; not stored
        return JSONResponse({"received": True, "ignored": True})
    async with request.app.state.runtime.db.acquire() as conn:
        new = await store_event(conn, event)
    return JSONResponse({"received": True, "duplicate": not new})


def install(app: FastAPI, webhook_secret: str) -> None:
    app.state.webhook_secret = webhook_secret
    app.include_router(router)
