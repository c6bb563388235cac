"""Stripe webhooks: the ``Stripe-Signature`` check over the raw body."""

from __future__ import annotations

import json
from typing import Any, Final

import stripe


class WebhookSignatureError(Exception):
    """The webhook payload is not a correctly signed, fresh Stripe event."""

    code: Final = "webhook_signature_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def verify_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> dict[str, Any]:
    """Verify ``Stripe-Signature`` over the raw body; the event as Stripe sent it (plain JSON:
    the receiver stores it, so building the SDK's objects would be work thrown away)."""
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(exc.user_message or "invalid signature") from exc
    except ValueError as exc:  # body is not UTF-8 / not JSON
        raise WebhookSignatureError(f"invalid webhook payload: {exc}") from exc
    if not isinstance(event, dict) or not all(
        isinstance(event.get(k), str) for k in ("id", "type")
    ):
        raise WebhookSignatureError("invalid webhook payload: not an event")
    if "\\u0000" in text:  # Postgres' jsonb cannot store it; Stripe never sends it
        raise WebhookSignatureError("invalid webhook payload: NUL character")
    return event


def parse_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> stripe.Event:
    """Verify ``Stripe-Signature`` over the raw body and return the event."""
    event = verify_webhook(payload, signature_header, secret, tolerance)
    return stripe.Event.construct_from(event, stripe.api_key)
