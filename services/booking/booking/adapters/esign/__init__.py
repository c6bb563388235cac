"""E-signature adapters (docs-before-pay): the contract in `base`, the built-in provider in
`builtin` and its `builtin_*` modules (default; its signer page is
`booking.features.documents.endpoints`), Dropbox Sign in `dropbox_sign` and its `dropbox_sign_*`
modules (imported on demand: they need httpx)."""

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
