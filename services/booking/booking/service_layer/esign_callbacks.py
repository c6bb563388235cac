"""A provider's pushed callback (Dropbox Sign's): verify it, then apply its outcome.

The endpoint hands over the callback's JSON as posted (the ``json`` form field, or a bare JSON
body); the provider verifies it (`ESignProvider.parse_webhook`) and `Documents` applies it. A
callback that cannot be applied is refused with `CallbackRefused`, whose ``retry`` says whether
the provider should send it again (it could not be confirmed with the provider's API) or not
(not authentic, not readable).
"""

from __future__ import annotations

from booking.domain.signing import ESignError, ESignErrorCode, WebhookVerificationError
from booking.service_layer.documents import Documents

# The payload reaches the provider as the bare JSON body it also accepts.
_JSON_HEADERS = {"content-type": "application/json"}


class CallbackRefused(Exception):
    """A callback that was not applied: `code` is the e-sign error code."""

    def __init__(self, code: str, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.code, self.message, self.retry = code, message, retry

    @classmethod
    def unreadable(cls, detail: str) -> CallbackRefused:
        """A body the web framework could not read as a form."""
        return cls(
            ESignErrorCode.WEBHOOK_VERIFICATION, f"unparseable callback: {detail}", retry=False
        )


async def receive_callback(documents: Documents, payload: bytes | None) -> None:
    """Verify and apply one callback; ``payload`` None: the form had no ``json`` field."""
    try:
        if payload is None:
            raise WebhookVerificationError("callback has no json field")
        event = await documents.provider.parse_webhook(payload, _JSON_HEADERS)
    except ESignError as exc:  # WebhookVerificationError included: not retryable
        raise CallbackRefused(exc.code, exc.message, retry=exc.retryable) from exc
    await documents.on_envelope_event(event)
