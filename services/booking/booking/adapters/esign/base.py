"""The e-signature contract: what booking asks of any provider (built-in, Dropbox Sign, ...).

Booking creates one envelope per checkout (all of a listing's required documents, one signer:
the guest), waits for it to be signed, and only then requests payment. A declined, expired or
voided envelope cancels the checkout. Providers report outcomes as `WebhookEvent`s.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Statuses and errors are booking's own (booking.domain.signing); providers use them from here.
from booking.domain.signing import EnvelopeStatus, ESignError, ESignErrorCode
from booking.domain.signing import WebhookVerificationError as WebhookVerificationError


@dataclass(frozen=True)
class DocumentSpec:
    document_id: str  # caller's id, unique within the envelope
    title: str
    content: bytes
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Signer:
    signer_id: str  # caller's id (the guest's id)
    name: str
    email: str


@dataclass(frozen=True)
class Envelope:
    envelope_id: str  # provider's id; what webhooks and get_status speak about
    provider: str
    status: EnvelopeStatus
    signing_url: str | None  # where the signer signs (None once terminal / if emailed only)
    documents: tuple[str, ...]  # document_ids, in the order given


@dataclass(frozen=True)
class WebhookEvent:
    """An authenticated status report. `status` SENT means "nothing terminal happened" (sent,
    viewed, test pings...): ignore it. `raw` is the provider's payload (plus provider extras)."""

    envelope_id: str
    status: EnvelopeStatus
    occurred_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SignedDocument:
    envelope_id: str
    document_id: str
    content: bytes
    sha256: str  # hex SHA-256 of `content`
    signed_at: datetime
    signer_id: str
    signer_ip: str | None


@dataclass(frozen=True)
class SignatureAudit:
    """One document's signature as the provider recorded it: the evidence a dispute cites.
    `title` is "" and `ip_address`/`user_agent` None where the provider does not tell."""

    document_id: str
    title: str
    sha256: str | None  # hex SHA-256 of the bytes signed
    signer_id: str
    signed_at: datetime
    ip_address: str | None
    user_agent: str | None


EventCallback = Callable[[WebhookEvent], Awaitable[None]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EnvelopeRequest:
    """A validated `create_envelope` call, as a provider sends it."""

    envelope_key: str
    signer: Signer
    documents: list[DocumentSpec]
    metadata: dict[str, str]
    expires_at: datetime


class ESignProvider(ABC):
    """What booking needs from an e-signature provider. Every method may raise `ESignError`.

    `create_envelope` is the same for every provider (validate, fingerprint, replay); each one
    sends (`_send`) and finds what it sent for a key (`_replayed`) its own way."""

    name: str
    _clock: Clock

    async def create_envelope(
        self,
        *,
        envelope_key: str,
        signer: Signer,
        documents: list[DocumentSpec],
        metadata: dict[str, str],
        expires_at: datetime,
    ) -> Envelope:
        """Send `documents` to `signer`. Idempotent on `envelope_key` (a deterministic key from
        the caller, e.g. ``booking:esign:<booking_id>``): the same key returns the same envelope;
        the same key with different content raises ``IDEMPOTENCY_CONFLICT``."""
        validate_request(envelope_key, signer, documents, expires_at)
        self._check_metadata(metadata)
        now = self._clock()
        fingerprint = request_fingerprint(signer, documents, metadata, expires_at)
        if expires_at <= now:  # only a replay may name a past deadline
            replayed = await self._replayed(envelope_key, fingerprint, now)
            if replayed is None:
                raise ESignError(ESignErrorCode.INVALID_REQUEST, "expires_at is in the past")
            return replayed
        request = EnvelopeRequest(envelope_key, signer, documents, metadata, expires_at)
        return await self._send(request, fingerprint, now)

    @abstractmethod
    def _check_metadata(self, metadata: Mapping[str, str]) -> None:
        """A provider's own limits on metadata (raise ``INVALID_REQUEST``), checked before any
        work is done."""

    @abstractmethod
    async def _replayed(
        self, envelope_key: str, fingerprint: str, now: datetime
    ) -> Envelope | None:
        """The envelope already created for `envelope_key`, as it is `now`, if there is one
        (``IDEMPOTENCY_CONFLICT`` when it was created from other content)."""

    @abstractmethod
    async def _send(self, request: EnvelopeRequest, fingerprint: str, now: datetime) -> Envelope:
        """Create the envelope, or return the one a concurrent or earlier call created."""

    @abstractmethod
    async def get_status(self, envelope_id: str) -> EnvelopeStatus: ...

    @abstractmethod
    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify a callback's authenticity (raises `WebhookVerificationError`) and parse it."""

    @abstractmethod
    async def fetch_signed_document(self, envelope_id: str, document_id: str) -> SignedDocument:
        """The signed document; raises ``NOT_SIGNED`` unless the envelope is signed."""

    @abstractmethod
    async def audit_trail(self, envelope_id: str) -> list[SignatureAudit]:
        """Each document's signature record of a signed envelope; raises ``NOT_SIGNED``
        unless it is signed."""

    @abstractmethod
    async def void_envelope(self, envelope_id: str, reason: str) -> EnvelopeStatus:
        """Cancel an unsigned envelope (the checkout ended first). Returns the status after the
        call: VOIDED, or the terminal status the envelope had already reached."""


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def validate_request(
    envelope_key: str, signer: Signer, documents: list[DocumentSpec], expires_at: datetime
) -> None:
    """Checks every provider applies before doing any work."""

    def bad(message: str) -> ESignError:
        return ESignError(ESignErrorCode.INVALID_REQUEST, message)

    if not envelope_key or len(envelope_key) > 255:
        raise bad("envelope_key must be 1-255 characters")
    if not signer.signer_id or not signer.name.strip() or "@" not in signer.email:
        raise bad("signer needs a signer_id, a name and an email address")
    if not documents:
        raise bad("an envelope needs at least one document")
    ids = [d.document_id for d in documents]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        raise bad("document_ids must be non-empty and unique within the envelope")
    if any(not d.content for d in documents):
        raise bad("documents must not be empty")
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise bad("expires_at must be timezone-aware")


def request_fingerprint(
    signer: Signer,
    documents: list[DocumentSpec],
    metadata: Mapping[str, str],
    expires_at: datetime,
) -> str:
    """What makes two create_envelope calls "the same request" for idempotency."""
    canonical = json.dumps(
        {
            "v": 1,
            "signer": [signer.signer_id, signer.name, signer.email],
            "expires_at": int(expires_at.timestamp()),
            "metadata": dict(sorted(metadata.items())),
            "documents": [
                [d.document_id, d.title, d.content_type, sha256_hex(d.content)] for d in documents
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
