"""Payments' HTTP surface: the Stripe webhook endpoint (public: Stripe signs the body)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Header

from eventkit.endpoint import refusals
from payments.entrypoints.schemas import WebhookReceipt
from payments.entrypoints.staff import Public
from payments.service_layer.webhooks import (
    ALLOWED_TYPES,
    store_event,
    verified_event,
)

router = APIRouter()


@router.post(
    "/webhooks/stripe",
    tags=["webhooks"],
    summary="Stripe webhook receiver",
    response_model_exclude_none=True,
    responses=refusals(r400="The signature does not verify, or the body is not an event"),
)
async def stripe_webhook(
    call: Public,
    stripe_signature: str = Header(default="", alias="Stripe-Signature", max_length=4096),
) -> WebhookReceipt:
    payload = await call.request.body()
    async with call.refusing():
        event = verified_event(payload, stripe_signature, call.request.app.state.webhook_secret)
    if event["type"] not in ALLOWED_TYPES:  # answered, so Stripe stops sending it; not stored
        return WebhookReceipt(ignored=True)
    async with call.connect() as conn:  # one INSERT: no transaction around it
        new = await store_event(conn, event)
    return WebhookReceipt(duplicate=not new)


def install(app: FastAPI, webhook_secret: str) -> None:
    app.state.webhook_secret = webhook_secret
    app.include_router(router)
