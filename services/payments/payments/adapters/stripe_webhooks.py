"""Stripe webhooks: the ``Stripe-Signature`` check over the raw body."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Final

import stripe

INT64 = range(-(2**63), 2**63)
# A UTF-16 surrogate escape: Stripe sends them in pairs (an emoji); a lone one cannot be stored.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
        _not_from_the_future(signature_header, tolerance)
        # What Stripe never sends and the database cannot store is refused, not a 500: an
        # integer beyond int64, NaN or Infinity, a lone surrogate, nesting past the parser's.
        event = json.loads(text, parse_int=_int64, parse_constant=_no_constant)
        if _SURROGATE_ESCAPE.search(text):
            json.dumps(event, ensure_ascii=False).encode("utf-8")
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(exc.user_message or "invalid signature") from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or not storable
        raise WebhookSignatureError(f"invalid webhook payload: {exc!s:.200}") from exc
    if (
        not isinstance(event, dict)
        or not all(isinstance(event.get(k), str) for k in ("id", "type"))
        or not isinstance(event.get("data"), dict)
        or not isinstance(event["data"].get("object"), dict)
    ):
        raise WebhookSignatureError("invalid webhook payload: not an event (id, type, data.object)")
    if "\\u0000" in text:  # Postgres' jsonb cannot store it; Stripe never sends it
        raise WebhookSignatureError("invalid webhook payload: NUL character")
    return event


def _not_from_the_future(signature_header: str, tolerance: int) -> None:
    """The SDK refuses a signature older than `tolerance`; one dated further ahead is refused
    too, or a captured request could be replayed until its far-future time."""
    stamps = [p.strip()[2:] for p in signature_header.split(",") if p.strip().startswith("t=")]
    if stamps and int(stamps[0]) > time.time() + tolerance:
        raise stripe.SignatureVerificationError("Timestamp in the future", signature_header)


def _int64(literal: str) -> int:
    value = int(literal)
    if value not in INT64:
        raise ValueError(f"integer {literal[:30]} beyond int64")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> stripe.Event:
    """Verify ``Stripe-Signature`` over the raw body and return the event."""
    event = verify_webhook(payload, signature_header, secret, tolerance)
    return stripe.Event.construct_from(event, stripe.api_key)
