"""Payments' HTTP surface: the Stripe webhook endpoint (public: Stripe signs the body)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, FastAPI, Header

from eventkit.endpoint import refusals
from payments.entrypoints.schemas import WebhookReceipt
from payments.entrypoints.staff import Public
from payments.service_layer.webhooks import (
    ALLOWED_TYPES,
    receive,
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
    async with call.connect() as conn:
        new = await receive(
            conn, event, bank_debit_return_window=call.request.app.state.webhook_return_window
        )
    return WebhookReceipt(duplicate=not new)


def install(app: FastAPI, webhook_secret: str, return_window: timedelta) -> None:
    app.state.webhook_secret = webhook_secret
    app.state.webhook_return_window = return_window
    app.include_router(router)
