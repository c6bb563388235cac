"""Dropbox Sign's callbacks: reading the posted form, the ``event_hash`` check, event → status.

Dropbox Sign POSTs a form whose ``json`` field holds ``{"event": {"event_time", "event_type",
"event_hash", ...}, "signature_request": {...}}``. Authentic when ``event_hash ==
hex(HMAC-SHA256(key=api_key, msg=event_time + event_type))``; the receiver must answer 200 with
the body `CALLBACK_ACK` or Dropbox Sign retries. That hash does not cover the signature request,
so `DropboxSignProvider` re-reads the status of a terminal event from the API.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from python_multipart import parse_form
from python_multipart.multipart import Field, File

from booking.adapters.esign.base import EnvelopeStatus, WebhookVerificationError

CALLBACK_ACK = "Hello API Event Received"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

EVENT_STATUS: dict[str, EnvelopeStatus] = {
    "signature_request_all_signed": EnvelopeStatus.SIGNED,
    "signature_request_signed": EnvelopeStatus.SIGNED,  # one signer per envelope: all signed
    "signature_request_declined": EnvelopeStatus.DECLINED,
    "signature_request_expired": EnvelopeStatus.EXPIRED,
    "signature_request_canceled": EnvelopeStatus.VOIDED,
}


def event_hash(api_key: str, event_time: str, event_type: str) -> str:
    """Dropbox Sign's callback hash: hex HMAC-SHA256, key = API key, msg = time + type."""
    return hmac.new(
        api_key.encode(), (event_time + event_type).encode(), hashlib.sha256
    ).hexdigest()


def status_of_event(event_type: str) -> EnvelopeStatus:
    """Terminal events map to their status; anything else (sent, viewed, ...) reads SENT."""
    return EVENT_STATUS.get(event_type, EnvelopeStatus.SENT)


def form_field(body: bytes, content_type: str, name: str) -> bytes | None:
    """One field of a form, None if absent: python-multipart reads multipart bodies, the
    standard library urlencoded ones. Raises ValueError when the body is not such a form."""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        values = parse_qs(body.decode(), max_num_fields=50).get(name)
        return values[0].encode() if values else None
    found: dict[str, bytes] = {}

    def on_field(field: Field) -> None:
        found.setdefault((field.field_name or b"").decode("utf-8", "replace"), field.value or b"")

    def on_file(file: File) -> None:  # a field sent with a filename is still that field
        file.file_object.seek(0)
        name = file.field_name.decode("utf-8", "replace") if file.field_name else ""
        found.setdefault(name, file.file_object.read())

    headers = {"Content-Type": content_type.encode("latin-1")}
    parse_form(headers, io.BytesIO(body), on_field, on_file)
    return found.get(name)


def extract_callback_payload(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of a callback: the ``json`` field of a multipart or urlencoded form (what
    Dropbox Sign sends), or a bare JSON body."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    text: str | None
    try:
        if content_type.split(";")[0].strip().lower() in FORM_TYPES:
            raw = form_field(body, content_type, "json")
            text = raw.decode() if raw is not None else None
        else:
            text = body.decode()
        if text is None:
            raise WebhookVerificationError("callback has no json field")
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookVerificationError(f"unparseable callback: {exc}") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("callback json is not an object")
    return payload


def verify_callback(api_key: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """Checks ``event.event_hash``; returns (event_time, event_type)."""
    event = payload.get("event")
    if not isinstance(event, dict):
        raise WebhookVerificationError("callback without an event")
    event_time, event_type = str(event.get("event_time", "")), str(event.get("event_type", ""))
    given = str(event.get("event_hash", ""))
    if not event_time or not event_type or not given:
        raise WebhookVerificationError("event without event_time, event_type or event_hash")
    expected = event_hash(api_key, event_time, event_type)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise WebhookVerificationError("event_hash mismatch")
    return event_time, event_type
