"""Built-in e-signature provider: envelopes in booking's own PostgreSQL schema, signed on our page.

The default provider: works with no account anywhere. The signer follows a link
``{public_base_url}/sign/{envelope_id}?token=...`` (an HMAC token, see `make_link_token`) to the
page of `booking.entrypoints.signing_page`, which calls `BuiltinESignProvider.decide`. Each sign
records, per document and in one transaction, the signer id, time, client IP, user agent and the
SHA-256 of the exact bytes that were shown and signed.

Outcomes ("webhooks") are internal: after the deciding transaction commits, the registered
``on_event(WebhookEvent)`` callback runs; ``notified_at`` is set once it returns. An event whose
callback failed (or that happened with no callback registered) is delivered again by
`BuiltinESignProvider.reconcile`, which also expires overdue envelopes: delivery is at least once,
so the callback must be idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import asyncpg

from booking.adapters.esign._sql import identifier
from booking.adapters.esign._sql import table_prefix as check_prefix
from booking.adapters.esign.base import (
    DocumentSpec,
    Envelope,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    EventCallback,
    SignatureAudit,
    SignedDocument,
    Signer,
    WebhookEvent,
    WebhookVerificationError,
    request_fingerprint,
    sha256_hex,
    validate_request,
)

log = logging.getLogger("booking.esign.builtin")

PROVIDER = "builtin"
SIGNATURE_HEADER = "X-ESign-Signature"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- DDL ---------------------------------------------------------------------------------------
def builtin_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    """CREATE statements of the built-in provider's tables, in order (for an Alembic migration:
    ``for sql in builtin_tables("booking"): op.execute(sql)``). Tables: ``<prefix>envelopes``,
    ``<prefix>documents``, ``<prefix>signatures``."""
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    envelopes, documents, signatures = (
        f"{s}.{p}envelopes",
        f"{s}.{p}documents",
        f"{s}.{p}signatures",
    )
    return [
        f"""CREATE TABLE {envelopes} (
    envelope_id        text PRIMARY KEY,
    envelope_key       text NOT NULL UNIQUE,
    request_hash       text NOT NULL,
    signer_id          text NOT NULL,
    signer_name        text NOT NULL,
    signer_email       text NOT NULL,
    metadata           jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    status             text NOT NULL DEFAULT 'sent'
                       CHECK (status IN ('sent', 'signed', 'declined', 'expired', 'voided')),
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    decided_at         timestamptz,
    decided_ip         text,
    decided_user_agent text,
    void_reason        text,
    notified_at        timestamptz,
    CHECK ((status = 'sent') = (decided_at IS NULL))
)""",
        f"CREATE INDEX {p}envelopes_open_by_expiry ON {envelopes} (expires_at) "
        "WHERE status = 'sent'",
        f"CREATE INDEX {p}envelopes_unnotified ON {envelopes} (decided_at) "
        "WHERE status <> 'sent' AND notified_at IS NULL",
        f"""CREATE TABLE {documents} (
    envelope_id  text NOT NULL REFERENCES {envelopes} (envelope_id) ON DELETE CASCADE,
    document_id  text NOT NULL,
    position     integer NOT NULL,
    title        text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    sha256       text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    UNIQUE (envelope_id, position)
)""",
        f"""CREATE TABLE {signatures} (
    envelope_id text NOT NULL,
    document_id text NOT NULL,
    signer_id   text NOT NULL,
    signed_at   timestamptz NOT NULL,
    signer_ip   text,
    user_agent  text,
    sha256      text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    FOREIGN KEY (envelope_id, document_id)
        REFERENCES {documents} (envelope_id, document_id) ON DELETE CASCADE
)""",
    ]


def drop_builtin_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    """The downgrade of `builtin_tables`."""
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    return [f"DROP TABLE IF EXISTS {s}.{p}{t}" for t in ("signatures", "documents", "envelopes")]


# -- signing-link tokens and internal webhook signatures ---------------------------------------
def _secret_bytes(secret: str | bytes) -> bytes:
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
    key = _derive(_secret_bytes(secret), "link")
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
    key = _derive(_secret_bytes(secret), "webhook")
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


def envelope_digest(document_hashes: list[tuple[str, str]]) -> str:
    """One hash over (document_id, sha256) pairs: what the signing page shows and posts back."""
    text = "\n".join(f"{doc_id}:{sha}" for doc_id, sha in document_hashes)
    return hashlib.sha256(text.encode()).hexdigest()


# -- what the signing page works with ----------------------------------------------------------
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


# -- the provider ------------------------------------------------------------------------------
class BuiltinESignProvider:
    """`ESignProvider` on booking's PostgreSQL (asyncpg pool), with our own signing page."""

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
        self._pool = pool
        self._base = public_base_url.rstrip("/")
        self._secret = _secret_bytes(secret)
        self._on_event = on_event
        self._link_grace = link_grace
        self._webhook_tolerance = webhook_tolerance
        self._redelivery_grace = redelivery_grace
        self._clock = clock
        s, p = identifier(schema, "schema"), check_prefix(table_prefix)
        self._envelopes = f"{s}.{p}envelopes"
        self._documents = f"{s}.{p}documents"
        self._signatures = f"{s}.{p}signatures"

    def register_callback(self, on_event: EventCallback) -> None:
        """Where outcomes go (the lead turns them into booking commands)."""
        self._on_event = on_event

    # -- links ---------------------------------------------------------------------------------
    def signing_url(self, envelope_id: str, expires_at: datetime) -> str:
        """Deterministic for an envelope: replays of create_envelope return the same link."""
        not_after = int(expires_at.timestamp() + self._link_grace.total_seconds())
        token = make_link_token(self._secret, envelope_id, not_after)
        return f"{self._base}/sign/{quote(envelope_id, safe='')}?token={token}"

    def verify_link(self, envelope_id: str, token: str | None) -> bool:
        return verify_link_token(self._secret, envelope_id, token, self._clock())

    # -- ESignProvider -------------------------------------------------------------------------
    async def create_envelope(
        self,
        *,
        envelope_key: str,
        signer: Signer,
        documents: list[DocumentSpec],
        metadata: dict[str, str],
        expires_at: datetime,
    ) -> Envelope:
        validate_request(envelope_key, signer, documents, expires_at)
        now = self._clock()
        fingerprint = request_fingerprint(signer, documents, metadata, expires_at)
        if expires_at <= now:  # only a replay may name a past deadline
            async with self._pool.acquire() as conn:
                if await conn.fetchval(
                    f"SELECT 1 FROM {self._envelopes} WHERE envelope_key = $1", envelope_key
                ):
                    return await self._replay(conn, envelope_key, fingerprint, now)
            raise ESignError(ESignErrorCode.INVALID_REQUEST, "expires_at is in the past")
        envelope_id = f"env_{uuid.uuid4().hex}"
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
                json.dumps(metadata),
                now,
                expires_at,
            )
            if inserted is None:
                return await self._replay(conn, envelope_key, fingerprint, now)
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
        log.info("envelope %s created for key %s", envelope_id, envelope_key)
        return Envelope(
            envelope_id,
            PROVIDER,
            EnvelopeStatus.SENT,
            self.signing_url(envelope_id, expires_at),
            tuple(d.document_id for d in documents),
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
        status = _effective(row["status"], row["expires_at"], now)
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
            raise _not_found(envelope_id)
        return _effective(row["status"], row["expires_at"], self._clock())

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
            raise _not_found(envelope_id)
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
            row = await self._lock(conn, envelope_id)
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
                event = self._event(row, status, _occurred(status, row, now))
        if event is not None:
            await self._notify(event)
        return status

    # -- the signing page's use cases ----------------------------------------------------------
    async def load_signing_view(self, envelope_id: str) -> SigningView | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT envelope_id, signer_name, signer_email, status, expires_at, decided_at "
                f"FROM {self._envelopes} WHERE envelope_id = $1",
                envelope_id,
            )
            if row is None:
                return None
            docs = await conn.fetch(
                "SELECT document_id, title, content_type, content, sha256 "
                f"FROM {self._documents} WHERE envelope_id = $1 ORDER BY position",
                envelope_id,
            )
        return SigningView(
            row["envelope_id"],
            row["signer_name"],
            row["signer_email"],
            _effective(row["status"], row["expires_at"], self._clock()),
            row["expires_at"],
            row["decided_at"],
            tuple(
                SigningDocument(
                    d["document_id"],
                    d["title"],
                    d["content_type"],
                    bytes(d["content"]),
                    d["sha256"],
                )
                for d in docs
            ),
        )

    async def decide(
        self,
        envelope_id: str,
        decision: Decision,
        *,
        client_ip: str | None,
        user_agent: str | None,
        digest: str | None = None,
    ) -> DecisionOutcome:
        """The signer signs or declines, in one transaction; then `on_event` runs. `digest`
        (from the page, optional) must match the documents' `envelope_digest`: the signer signs
        exactly what was shown. An envelope no longer SENT is left alone (applied=False)."""
        now = self._clock()
        user_agent = user_agent[:1024] if user_agent else None
        async with self._pool.acquire() as conn, conn.transaction():
            row = await self._lock(conn, envelope_id)
            status = EnvelopeStatus(row["status"])
            if status is not EnvelopeStatus.SENT:
                return DecisionOutcome(status, applied=False)
            if now >= row["expires_at"]:
                status, applied = EnvelopeStatus.EXPIRED, False
            else:
                status, applied = (
                    EnvelopeStatus.SIGNED if decision is Decision.SIGN else EnvelopeStatus.DECLINED,
                    True,
                )
                docs = await conn.fetch(
                    f"SELECT document_id, content, sha256 FROM {self._documents} "
                    "WHERE envelope_id = $1 ORDER BY position",
                    envelope_id,
                )
                hashes = [(d["document_id"], sha256_hex(bytes(d["content"]))) for d in docs]
                if any(h != d["sha256"] for (_, h), d in zip(hashes, docs, strict=True)):
                    raise ESignError(
                        ESignErrorCode.INTEGRITY, f"documents of {envelope_id} were altered"
                    )
                if digest is not None and not hmac.compare_digest(
                    digest.encode(), envelope_digest(hashes).encode()
                ):
                    raise ESignError(
                        ESignErrorCode.INTEGRITY,
                        "the documents differ from the ones shown to the signer",
                    )
                if status is EnvelopeStatus.SIGNED:
                    await conn.executemany(
                        f"INSERT INTO {self._signatures} (envelope_id, document_id, signer_id, "
                        "signed_at, signer_ip, user_agent, sha256) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        [
                            (envelope_id, doc_id, row["signer_id"], now, client_ip, user_agent, h)
                            for doc_id, h in hashes
                        ],
                    )
            await conn.execute(
                f"UPDATE {self._envelopes} SET status = $2, decided_at = $3, decided_ip = $4, "
                "decided_user_agent = $5 WHERE envelope_id = $1",
                envelope_id,
                status,
                now,
                client_ip,
                user_agent,
            )
            event = self._event(row, status, _occurred(status, row, now))
        log.info("envelope %s %s", envelope_id, status)
        await self._notify(event)
        return DecisionOutcome(status, applied)

    # -- delivery ------------------------------------------------------------------------------
    async def reconcile(self, limit: int = 100) -> int:
        """Expire overdue envelopes and (re)deliver events whose callback has not succeeded.
        Run it periodically (e.g. from booking's scheduler loop). Returns events delivered."""
        if self._on_event is None:
            return 0
        now = self._clock()
        columns = "envelope_id, envelope_key, signer_id, metadata, status, expires_at, decided_at"
        async with self._pool.acquire() as conn:
            expired = await conn.fetch(
                f"UPDATE {self._envelopes} SET status = 'expired', decided_at = $1 "
                f"WHERE envelope_id IN (SELECT envelope_id FROM {self._envelopes} "
                "WHERE status = 'sent' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 "
                f"FOR UPDATE SKIP LOCKED) RETURNING {columns}",
                now,
                limit,
            )
            pending = await conn.fetch(
                f"SELECT {columns} FROM {self._envelopes} WHERE status <> 'sent' "
                "AND notified_at IS NULL AND decided_at <= $1 ORDER BY decided_at LIMIT $2",
                now - self._redelivery_grace,
                limit,
            )
        delivered = 0
        seen: set[str] = set()
        for row in [*expired, *pending]:
            if row["envelope_id"] in seen:
                continue
            seen.add(row["envelope_id"])
            status = EnvelopeStatus(row["status"])
            event = self._event(row, status, _occurred(status, row, row["decided_at"]))
            delivered += await self._notify(event)
        return delivered

    async def _notify(self, event: WebhookEvent) -> bool:
        callback = self._on_event
        if callback is None:
            log.warning("no e-sign callback registered; %s stays undelivered", event.envelope_id)
            return False
        try:
            await callback(event)
        except Exception:
            log.exception("e-sign callback failed for %s (%s)", event.envelope_id, event.status)
            return False
        try:
            await self._pool.execute(
                f"UPDATE {self._envelopes} SET notified_at = $2 WHERE envelope_id = $1 "
                "AND notified_at IS NULL",
                event.envelope_id,
                self._clock(),
            )
        except (asyncpg.PostgresError, OSError):  # delivered; reconcile may deliver it again
            log.exception("could not mark %s notified", event.envelope_id)
        return True

    async def _lock(self, conn: asyncpg.Connection, envelope_id: str) -> asyncpg.Record:
        row = await conn.fetchrow(
            "SELECT envelope_id, envelope_key, signer_id, metadata, status, expires_at "
            f"FROM {self._envelopes} WHERE envelope_id = $1 FOR UPDATE",
            envelope_id,
        )
        if row is None:
            raise _not_found(envelope_id)
        return row

    @staticmethod
    def _event(
        row: Mapping[str, Any], status: EnvelopeStatus, occurred_at: datetime
    ) -> WebhookEvent:
        metadata = row["metadata"]
        raw: dict[str, Any] = {
            "provider": PROVIDER,
            "envelope_id": row["envelope_id"],
            "envelope_key": row["envelope_key"],
            "status": str(status),
            "signer_id": row["signer_id"],
            "metadata": json.loads(metadata) if isinstance(metadata, str) else dict(metadata),
            "occurred_at": occurred_at.isoformat(),
        }
        return WebhookEvent(row["envelope_id"], status, occurred_at, raw)


def _effective(status: str, expires_at: datetime, now: datetime) -> EnvelopeStatus:
    current = EnvelopeStatus(status)
    if current is EnvelopeStatus.SENT and now >= expires_at:
        return EnvelopeStatus.EXPIRED
    return current


def _occurred(status: EnvelopeStatus, row: Mapping[str, Any], now: datetime) -> datetime:
    """An expiry happened at expires_at, whenever we noticed it."""
    return row["expires_at"] if status is EnvelopeStatus.EXPIRED else now


def _not_found(envelope_id: str) -> ESignError:
    return ESignError(ESignErrorCode.ENVELOPE_NOT_FOUND, f"envelope {envelope_id} not found")
