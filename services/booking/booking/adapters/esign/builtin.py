"""Built-in e-signature provider: envelopes in booking's own PostgreSQL schema, signed on our page.

The default provider: works with no account anywhere. The signer follows a link
``{public_base_url}/sign/{envelope_id}?token=...`` (an HMAC token, see `make_link_token`) to the
page of `booking.features.documents.endpoints`, which calls `BuiltinESignProvider.decide`. Each sign
records, per document and in one transaction, the signer id, time, client IP, user agent and the
SHA-256 of the exact bytes that were shown and signed.

Outcomes ("webhooks") are internal: after the deciding transaction commits, the registered
``on_event(WebhookEvent)`` callback runs; ``notified_at`` is set once it returns. An event whose
callback failed (or that happened with no callback registered) is delivered again by
`BuiltinESignProvider.reconcile`, which also expires overdue envelopes: delivery is at least once,
so the callback must be idempotent.

The provider is five modules: its table names (`builtin_tables`), its HMACs (`builtin_tokens`), the
outcomes and their delivery (`builtin_outcomes`), the signing page's use cases
(`builtin_signing`) and this one, the `ESignProvider` itself. Migration 0007 creates the tables.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import quote

import asyncpg

from booking.adapters.esign.base import (
    Clock,
    DocumentSpec,
    Envelope,
    EnvelopeRequest,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    ESignProvider,
    EventCallback,
    SignatureAudit,
    SignedDocument,
    WebhookEvent,
    WebhookVerificationError,
    sha256_hex,
    utc_now,
)
from booking.adapters.esign.builtin_outcomes import (
    PROVIDER,
    OutcomeDelivery,
    effective,
    lock_envelope,
    not_found,
    occurred,
    outcome_event,
)
from booking.adapters.esign.builtin_signing import SigningDesk
from booking.adapters.esign.builtin_tables import BuiltinTables
from booking.adapters.esign.builtin_tokens import (
    SIGNATURE_HEADER,
    make_link_token,
    secret_bytes,
    sign_webhook,
    verify_link_token,
    verify_webhook_signature,
)

log = logging.getLogger("booking.esign.builtin")


class BuiltinESignProvider(ESignProvider, SigningDesk):
    """`ESignProvider` on booking's PostgreSQL (asyncpg pool), with our own signing page: the
    page's use cases (`load_signing_view`, `decide`) are those of its `SigningDesk`."""

    name = PROVIDER

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        public_base_url: str,
        secret: str | bytes,
        schema: str = "booking",
        table_prefix: str = "esign_",
        on_event: EventCallback | None = None,
        link_grace: timedelta = timedelta(days=7),
        webhook_tolerance: timedelta = timedelta(minutes=5),
        redelivery_grace: timedelta = timedelta(seconds=30),
        clock: Clock = utc_now,
    ) -> None:
        """`secret` keys the signing-link tokens (and internal webhook signatures). Links stay
        valid `link_grace` past the envelope's expiry so the page can say "expired" rather
        than 403. `reconcile` redelivers events left unnotified longer than
        `redelivery_grace`."""
        self._base = public_base_url.rstrip("/")
        self._secret = secret_bytes(secret)
        self._link_grace = link_grace
        self._webhook_tolerance = webhook_tolerance
        tables = BuiltinTables.of(schema, table_prefix)
        self._envelopes, self._documents = tables.envelopes, tables.documents
        self._signatures = tables.signatures
        delivery = OutcomeDelivery(
            pool, tables, on_event=on_event, redelivery_grace=redelivery_grace, clock=clock
        )
        SigningDesk.__init__(self, pool, tables, delivery, clock)

    def register_callback(self, on_event: EventCallback) -> None:
        """Where outcomes go (the lead turns them into booking commands)."""
        self._delivery.on_event = on_event

    # -- links ---------------------------------------------------------------------------------
    def signing_url(self, envelope_id: str, expires_at: datetime) -> str:
        """Deterministic for an envelope: replays of create_envelope return the same link."""
        not_after = int(expires_at.timestamp() + self._link_grace.total_seconds())
        token = make_link_token(self._secret, envelope_id, not_after)
        return f"{self._base}/sign/{quote(envelope_id, safe='')}?token={token}"

    def verify_link(self, envelope_id: str, token: str | None) -> bool:
        return verify_link_token(self._secret, envelope_id, token, self._clock())

    # -- ESignProvider -------------------------------------------------------------------------
    def _check_metadata(self, metadata: Mapping[str, str]) -> None:
        """None: any string metadata fits the envelope's jsonb column."""

    async def _replayed(
        self, envelope_key: str, fingerprint: str, now: datetime
    ) -> Envelope | None:
        async with self._pool.acquire() as conn:
            if not await conn.fetchval(
                f"SELECT 1 FROM {self._envelopes} WHERE envelope_key = $1", envelope_key
            ):
                return None
            return await self._replay(conn, envelope_key, fingerprint, now)

    async def _send(self, request: EnvelopeRequest, fingerprint: str, now: datetime) -> Envelope:
        envelope_id = f"env_{uuid.uuid4().hex}"
        signer, envelope_key = request.signer, request.envelope_key
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                f"INSERT INTO {self._envelopes} (envelope_id, envelope_key, request_hash, "
                "signer_id, signer_name, signer_email, metadata, created_at, expires_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) "
                "ON CONFLICT (envelope_key) DO NOTHING RETURNING envelope_id",
                envelope_id,
                envelope_key,
                fingerprint,
                signer.signer_id,
                signer.name,
                signer.email,
                request.metadata,
                now,
                request.expires_at,
            )
            if inserted is None:
                return await self._replay(conn, envelope_key, fingerprint, now)
            await self._insert_documents(conn, envelope_id, request.documents)
        log.info("envelope %s created for key %s", envelope_id, envelope_key)
        return Envelope(
            envelope_id,
            PROVIDER,
            EnvelopeStatus.SENT,
            self.signing_url(envelope_id, request.expires_at),
            tuple(d.document_id for d in request.documents),
        )

    async def _insert_documents(
        self, conn: asyncpg.Connection, envelope_id: str, documents: list[DocumentSpec]
    ) -> None:
        """The envelope's documents in their order, each with the digest its signature covers."""
        await conn.executemany(
            f"INSERT INTO {self._documents} (envelope_id, document_id, position, title, "
            "content_type, content, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (
                    envelope_id,
                    d.document_id,
                    i,
                    d.title,
                    d.content_type,
                    d.content,
                    sha256_hex(d.content),
                )
                for i, d in enumerate(documents)
            ],
        )

    async def _replay(
        self, conn: asyncpg.Connection, envelope_key: str, fingerprint: str, now: datetime
    ) -> Envelope:
        row = await conn.fetchrow(
            f"SELECT envelope_id, request_hash, status, expires_at FROM {self._envelopes} "
            "WHERE envelope_key = $1",
            envelope_key,
        )
        assert row is not None  # the conflicting row is committed: ON CONFLICT waited for it
        if row["request_hash"] != fingerprint:
            raise ESignError(
                ESignErrorCode.IDEMPOTENCY_CONFLICT,
                f"envelope_key {envelope_key!r} was used for a different envelope",
            )
        doc_ids = await conn.fetch(
            f"SELECT document_id FROM {self._documents} WHERE envelope_id = $1 ORDER BY position",
            row["envelope_id"],
        )
        status = effective(row["status"], row["expires_at"], now)
        return Envelope(
            row["envelope_id"],
            PROVIDER,
            status,
            None if status.terminal else self.signing_url(row["envelope_id"], row["expires_at"]),
            tuple(r["document_id"] for r in doc_ids),
        )

    async def get_status(self, envelope_id: str) -> EnvelopeStatus:
        row = await self._pool.fetchrow(
            f"SELECT status, expires_at FROM {self._envelopes} WHERE envelope_id = $1",
            envelope_id,
        )
        if row is None:
            raise not_found(envelope_id)
        return effective(row["status"], row["expires_at"], self._clock())

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verifies `SIGNATURE_HEADER` (see `encode_webhook`); the built-in provider itself
        reports through `on_event`, so this only serves relays of those events."""
        header = next(
            (v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None
        )
        verify_webhook_signature(self._secret, body, header, self._clock(), self._webhook_tolerance)
        try:
            payload = json.loads(body)
            return WebhookEvent(
                str(payload["envelope_id"]),
                EnvelopeStatus(payload["status"]),
                datetime.fromisoformat(payload["occurred_at"]),
                payload,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookVerificationError(f"unparseable event: {exc}") from exc

    def encode_webhook(self, event: WebhookEvent) -> tuple[bytes, dict[str, str]]:
        """Body and headers of `event` as a signed webhook that `parse_webhook` accepts."""
        payload = {
            **event.raw,
            "envelope_id": event.envelope_id,
            "status": str(event.status),
            "occurred_at": event.occurred_at.isoformat(),
        }
        body = json.dumps(payload, sort_keys=True, default=str).encode()
        signature = sign_webhook(self._secret, body, int(self._clock().timestamp()))
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}

    async def fetch_signed_document(self, envelope_id: str, document_id: str) -> SignedDocument:
        row = await self._pool.fetchrow(
            f"SELECT e.status, d.content, s.signer_id, s.signed_at, s.signer_ip, "
            f"s.sha256 AS signed_sha256 FROM {self._documents} d "
            f"JOIN {self._envelopes} e USING (envelope_id) "
            f"LEFT JOIN {self._signatures} s USING (envelope_id, document_id) "
            "WHERE d.envelope_id = $1 AND d.document_id = $2",
            envelope_id,
            document_id,
        )
        if row is None:
            if await self._pool.fetchval(
                f"SELECT 1 FROM {self._envelopes} WHERE envelope_id = $1", envelope_id
            ):
                raise ESignError(
                    ESignErrorCode.DOCUMENT_NOT_FOUND,
                    f"envelope {envelope_id} has no document {document_id!r}",
                )
            raise not_found(envelope_id)
        if row["status"] != EnvelopeStatus.SIGNED or row["signed_at"] is None:
            raise ESignError(
                ESignErrorCode.NOT_SIGNED, f"envelope {envelope_id} is {row['status']}, not signed"
            )
        content = bytes(row["content"])
        digest = sha256_hex(content)
        if not hmac.compare_digest(digest, row["signed_sha256"]):
            raise ESignError(
                ESignErrorCode.INTEGRITY,
                f"document {document_id!r} of {envelope_id} differs from the bytes signed",
            )
        return SignedDocument(
            envelope_id,
            document_id,
            content,
            digest,
            row["signed_at"],
            row["signer_id"],
            row["signer_ip"],
        )

    async def audit_trail(self, envelope_id: str) -> list[SignatureAudit]:
        """What `decide` recorded per document: the hash signed, the signer, when, from which
        IP address and User-Agent."""
        rows = await self._pool.fetch(
            "SELECT d.document_id, d.title, s.sha256, s.signer_id, s.signed_at, s.signer_ip, "
            f"s.user_agent FROM {self._documents} d "
            f"JOIN {self._signatures} s USING (envelope_id, document_id) "
            "WHERE d.envelope_id = $1 ORDER BY d.position",
            envelope_id,
        )
        if not rows:
            status = await self.get_status(envelope_id)  # ENVELOPE_NOT_FOUND when unknown
            raise ESignError(
                ESignErrorCode.NOT_SIGNED, f"envelope {envelope_id} is {status}, not signed"
            )
        return [
            SignatureAudit(
                r["document_id"],
                r["title"],
                r["sha256"],
                r["signer_id"],
                r["signed_at"],
                r["signer_ip"],
                r["user_agent"],
            )
            for r in rows
        ]

    async def void_envelope(self, envelope_id: str, reason: str) -> EnvelopeStatus:
        now = self._clock()
        event: WebhookEvent | None = None
        async with self._pool.acquire() as conn, conn.transaction():
            row = await lock_envelope(conn, self._tables, envelope_id)
            status = EnvelopeStatus(row["status"])
            if status is EnvelopeStatus.SENT:
                status = (
                    EnvelopeStatus.EXPIRED if now >= row["expires_at"] else EnvelopeStatus.VOIDED
                )
                await conn.execute(
                    f"UPDATE {self._envelopes} SET status = $2, decided_at = $3, "
                    "void_reason = $4 WHERE envelope_id = $1",
                    envelope_id,
                    status,
                    now,
                    reason if status is EnvelopeStatus.VOIDED else None,
                )
                event = outcome_event(row, status, occurred(status, row, now))
        if event is not None:
            await self._delivery.notify(event)
        return status

    # -- delivery (`builtin_outcomes`) -----------------------------------------------------------
    async def reconcile(self, limit: int = 100) -> int:
        """See `OutcomeDelivery.reconcile`."""
        return await self._delivery.reconcile(limit)
