"""E-signing as booking sees it, whatever the provider: an envelope's status, the errors a
provider answers with (machine-readable codes), and what a signer is shown and decides on the
built-in provider's page. Pure: the provider contract is `booking.adapters.esign.base`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EnvelopeStatus(StrEnum):
    SENT = "sent"  # waiting for the signer (the only non-terminal status)
    SIGNED = "signed"
    DECLINED = "declined"
    EXPIRED = "expired"
    VOIDED = "voided"  # cancelled by us (e.g. the checkout hold ran out first)

    @property
    def terminal(self) -> bool:
        return self is not EnvelopeStatus.SENT


class ESignErrorCode(StrEnum):
    INVALID_REQUEST = "esign_invalid_request"
    IDEMPOTENCY_CONFLICT = "esign_idempotency_conflict"  # same envelope_key, other content
    IN_PROGRESS = "esign_in_progress"  # another attempt with this envelope_key is in flight
    ENVELOPE_NOT_FOUND = "esign_envelope_not_found"
    DOCUMENT_NOT_FOUND = "esign_document_not_found"
    NOT_SIGNED = "esign_not_signed"
    NOT_READY = "esign_document_not_ready"
    ILLEGAL_STATE = "esign_illegal_state"
    INTEGRITY = "esign_integrity_mismatch"
    AUTHENTICATION = "esign_authentication_failed"
    RATE_LIMITED = "esign_rate_limited"
    UNAVAILABLE = "esign_provider_unavailable"
    PROVIDER = "esign_provider_error"
    WEBHOOK_VERIFICATION = "esign_webhook_verification_failed"


class ESignError(Exception):
    """A provider refused or failed. `retryable`: the same call may succeed later."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, retryable={self.retryable})"


class WebhookVerificationError(ESignError):
    """A callback is not authentic (bad or missing signature) or not parseable."""

    def __init__(self, message: str) -> None:
        super().__init__(ESignErrorCode.WEBHOOK_VERIFICATION, message, retryable=False)


def envelope_digest(document_hashes: list[tuple[str, str]]) -> str:
    """One hash over (document_id, sha256) pairs: what the signing page shows and posts back."""
    text = "\n".join(f"{doc_id}:{sha}" for doc_id, sha in document_hashes)
    return hashlib.sha256(text.encode()).hexdigest()


class Decision(StrEnum):
    SIGN = "sign"
    DECLINE = "decline"


@dataclass(frozen=True)
class SigningDocument:
    document_id: str
    title: str
    content_type: str
    content: bytes
    sha256: str


@dataclass(frozen=True)
class SigningView:
    envelope_id: str
    signer_name: str
    signer_email: str
    status: EnvelopeStatus  # effective: SENT past expires_at reads EXPIRED
    expires_at: datetime
    decided_at: datetime | None
    documents: tuple[SigningDocument, ...]

    @property
    def digest(self) -> str:
        return envelope_digest([(d.document_id, d.sha256) for d in self.documents])


@dataclass(frozen=True)
class DecisionOutcome:
    status: EnvelopeStatus  # the envelope's status after the call
    applied: bool  # True when this call made the requested change
