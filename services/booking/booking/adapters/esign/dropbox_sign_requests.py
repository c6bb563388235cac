"""The Dropbox Sign adapter's idempotency map, ``<prefix>dropbox_sign_requests`` in PostgreSQL
(migration 0008 creates it; its DDL is frozen in it).

Dropbox Sign has no idempotency keys. The map ties ``envelope_key`` → ``signature_request_id``:
a key is claimed (state ``pending``) before the send and recorded (``sent``) after it, so a
retry returns the recorded request. It also keeps the caller's own deadline (``expires_at``),
which is sooner than the one Dropbox Sign accepts, and the envelope's document ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from booking.adapters.esign._sql import table_name
from booking.adapters.esign.base import Envelope, EnvelopeStatus, ESignError, ESignErrorCode

PROVIDER = "dropbox_sign"


@dataclass(frozen=True)
class Claim:
    action: str  # "send" | "recover" | "done"
    claimed_at: datetime | None = None
    envelope: Envelope | None = None


@dataclass(frozen=True)
class Sent:
    """A request recorded as sent: its signer and documents."""

    signer_id: str
    document_ids: list[str]


def envelope_of(row: Mapping[str, Any], status: EnvelopeStatus) -> Envelope:
    return Envelope(
        row["signature_request_id"],
        PROVIDER,
        status,
        row["signing_url"],
        tuple(row["document_ids"]),
    )


def _conflict(envelope_key: str) -> ESignError:
    return ESignError(
        ESignErrorCode.IDEMPOTENCY_CONFLICT,
        f"envelope_key {envelope_key!r} was used for a different envelope",
    )


class RequestMap:
    """Claims, records and reads the map's rows."""

    def __init__(self, pool: asyncpg.Pool, *, schema: str, table_prefix: str) -> None:
        self._pool = pool
        self._table = table_name(schema, table_prefix, "dropbox_sign_requests")

    async def claim(
        self,
        envelope_key: str,
        fingerprint: str,
        signer_id: str,
        doc_ids: list[str],
        expires_at: datetime,
        *,
        now: datetime,
        pending_lease: timedelta,
    ) -> Claim:
        """``send`` (a new key), ``done`` (sent already: its envelope) or ``recover`` (a
        pending claim whose lease ran out: taken over). IN_PROGRESS within the lease."""
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                f"INSERT INTO {self._table} (envelope_key, request_hash, state, signer_id, "
                "document_ids, expires_at, claimed_at) "
                "VALUES ($1, $2, 'pending', $3, $4::jsonb, $5, $6) "
                "ON CONFLICT (envelope_key) DO NOTHING RETURNING claimed_at",
                envelope_key,
                fingerprint,
                signer_id,
                doc_ids,
                expires_at,
                now,
            )
            if inserted is not None:
                return Claim("send", inserted)
            row = await conn.fetchrow(
                f"SELECT * FROM {self._table} WHERE envelope_key = $1 FOR UPDATE", envelope_key
            )
            assert row is not None
            if row["request_hash"] != fingerprint:
                raise _conflict(envelope_key)
            if row["state"] == "sent":
                return Claim("done", envelope=envelope_of(row, EnvelopeStatus.SENT))
            if row["claimed_at"] > now - pending_lease:
                raise ESignError(
                    ESignErrorCode.IN_PROGRESS,
                    f"envelope {envelope_key!r} is being sent; retry later",
                    retryable=True,
                )
            claimed_at = await conn.fetchval(
                f"UPDATE {self._table} SET claimed_at = $2, attempts = attempts + 1 "
                "WHERE envelope_key = $1 RETURNING claimed_at",
                envelope_key,
                now,
            )
            return Claim("recover", claimed_at)

    async def recorded(self, envelope_key: str, fingerprint: str) -> Envelope | None:
        """The envelope sent for this key, if any (IDEMPOTENCY_CONFLICT for other content)."""
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._table} WHERE envelope_key = $1 AND state = 'sent'",
            envelope_key,
        )
        if row is None:
            return None
        if row["request_hash"] != fingerprint:
            raise _conflict(envelope_key)
        return envelope_of(row, EnvelopeStatus.SENT)

    async def release(self, envelope_key: str, claimed_at: datetime) -> None:
        """Drop our pending claim: the send created nothing."""
        await self._pool.execute(
            f"DELETE FROM {self._table} WHERE envelope_key = $1 AND state = 'pending' "
            "AND claimed_at = $2",
            envelope_key,
            claimed_at,
        )

    async def mark_sent(
        self, envelope_key: str, request_id: str, signing_url: str | None, now: datetime
    ) -> asyncpg.Record | None:
        """Record the key as sent, unless it already is: then that earlier row."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT * FROM {self._table} WHERE envelope_key = $1 FOR UPDATE", envelope_key
            )
            if row is not None and row["state"] == "sent":
                return row
            await conn.execute(
                f"UPDATE {self._table} SET state = 'sent', signature_request_id = $2, "
                "signing_url = $3, sent_at = $4 WHERE envelope_key = $1",
                envelope_key,
                request_id,
                signing_url,
                now,
            )
            return None

    async def deadline(self, signature_request_id: str) -> datetime | None:
        """The caller's own ``expires_at`` of a sent request."""
        deadline: datetime | None = await self._pool.fetchval(
            f"SELECT expires_at FROM {self._table} WHERE signature_request_id = $1",
            signature_request_id,
        )
        return deadline

    async def sent(self, signature_request_id: str) -> Sent:
        """Signer and documents of a request sent from here, else ENVELOPE_NOT_FOUND."""
        row = await self._pool.fetchrow(
            f"SELECT signer_id, document_ids FROM {self._table} WHERE signature_request_id = $1",
            signature_request_id,
        )
        if row is None:
            raise ESignError(
                ESignErrorCode.ENVELOPE_NOT_FOUND,
                f"no envelope {signature_request_id} was sent from here",
            )
        return Sent(row["signer_id"], row["document_ids"])
