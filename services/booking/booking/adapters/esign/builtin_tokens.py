"""The built-in provider's HMACs: signing-link tokens, internal webhook signatures, and the
digest of the documents a signer was shown. Keys are derived per purpose from one secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from booking.adapters.esign.base import WebhookVerificationError

SIGNATURE_HEADER = "X-ESign-Signature"


def secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    if len(raw) < 16:
        raise ValueError("the e-sign secret must be at least 16 bytes")
    return raw


def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"booking.esign.{purpose}.v1".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_link_token(secret: str | bytes, envelope_id: str, not_after: int) -> str:
    """``<not_after>.<mac>``: HMAC-SHA256 over the envelope id and the expiry (unix seconds)."""
    key = _derive(secret_bytes(secret), "link")
    mac = hmac.new(key, f"{envelope_id}\n{not_after}".encode(), hashlib.sha256).digest()
    return f"{not_after}.{_b64(mac)}"


def verify_link_token(
    secret: str | bytes, envelope_id: str, token: str | None, now: datetime
) -> bool:
    if not token:
        return False
    not_after, dot, _mac = token.partition(".")
    if not dot or not not_after.isdigit() or len(not_after) > 12:
        return False
    expected = make_link_token(secret, envelope_id, int(not_after))
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return False
    return now.timestamp() < int(not_after)


def sign_webhook(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The `SIGNATURE_HEADER` value: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    key = _derive(secret_bytes(secret), "webhook")
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_webhook_signature(
    secret: str | bytes, body: bytes, header: str | None, now: datetime, tolerance: timedelta
) -> None:
    if not header:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = fields.get("t", "")
    if not timestamp.isdigit():
        raise WebhookVerificationError("malformed signature header")
    expected = sign_webhook(secret, body, int(timestamp)).split("v1=", 1)[1]
    if not hmac.compare_digest(fields.get("v1", "").encode(), expected.encode()):
        raise WebhookVerificationError("signature mismatch")
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        raise WebhookVerificationError("signature timestamp outside the tolerance")
