"""E-signature adapters (docs-before-pay): the contract in `base`, the built-in provider in
`builtin` (default; its signer page is `booking.entrypoints.signing_page`), Dropbox Sign in
`dropbox_sign` (imported on demand: it needs httpx)."""

from booking.adapters.esign.base import (
    DocumentSpec,
    Envelope,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    ESignProvider,
    EventCallback,
    SignedDocument,
    Signer,
    WebhookEvent,
    WebhookVerificationError,
)

__all__ = [
    "DocumentSpec",
    "ESignError",
    "ESignErrorCode",
    "ESignProvider",
    "Envelope",
    "EnvelopeStatus",
    "EventCallback",
    "SignedDocument",
    "Signer",
    "WebhookEvent",
    "WebhookVerificationError",
]
