"""The built-in provider's outcomes: an envelope's effective status, the event a decision makes,
and its delivery to the registered callback (at least once: `OutcomeDelivery.reconcile`
redelivers what was not acknowledged and expires overdue envelopes)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from booking.adapters.esign.base import (
    Clock,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    EventCallback,
    WebhookEvent,
)
from booking.adapters.esign.builtin_tables import BuiltinTables

log = logging.getLogger("booking.esign.builtin")

PROVIDER = "builtin"


def effective(status: str, expires_at: datetime, now: datetime) -> EnvelopeStatus:
    """SENT past ``expires_at`` reads EXPIRED before `reconcile` writes it."""
    current = EnvelopeStatus(status)
    if current is EnvelopeStatus.SENT and now >= expires_at:
        return EnvelopeStatus.EXPIRED
    return current


def occurred(status: EnvelopeStatus, row: Mapping[str, Any], now: datetime) -> datetime:
    """An expiry happened at expires_at, whenever we noticed it."""
    return row["expires_at"] if status is EnvelopeStatus.EXPIRED else now


def not_found(envelope_id: str) -> ESignError:
    return ESignError(ESignErrorCode.ENVELOPE_NOT_FOUND, f"envelope {envelope_id} not found")


async def lock_envelope(
    conn: asyncpg.Connection, tables: BuiltinTables, envelope_id: str
) -> asyncpg.Record:
    """The envelope's row, locked for the deciding transaction (ENVELOPE_NOT_FOUND if none)."""
    row = await conn.fetchrow(
        "SELECT envelope_id, envelope_key, signer_id, metadata, status, expires_at "
        f"FROM {tables.envelopes} WHERE envelope_id = $1 FOR UPDATE",
        envelope_id,
    )
    if row is None:
        raise not_found(envelope_id)
    return row


def outcome_event(
    row: Mapping[str, Any], status: EnvelopeStatus, occurred_at: datetime
) -> WebhookEvent:
    raw: dict[str, Any] = {
        "provider": PROVIDER,
        "envelope_id": row["envelope_id"],
        "envelope_key": row["envelope_key"],
        "status": str(status),
        "signer_id": row["signer_id"],
        "metadata": dict(row["metadata"]),
        "occurred_at": occurred_at.isoformat(),
    }
    return WebhookEvent(row["envelope_id"], status, occurred_at, raw)


class OutcomeDelivery:
    """Hands outcomes to the registered callback; ``notified_at`` is set once it returns."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        tables: BuiltinTables,
        *,
        on_event: EventCallback | None,
        redelivery_grace: timedelta,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._tables = tables
        self.on_event = on_event
        self._redelivery_grace = redelivery_grace
        self._clock = clock

    async def reconcile(self, limit: int = 100) -> int:
        """Expire overdue envelopes and (re)deliver events whose callback has not succeeded.
        Run it periodically (e.g. from booking's scheduler loop). Returns events delivered."""
        if self.on_event is None:
            return 0
        now = self._clock()
        envelopes = self._tables.envelopes
        columns = "envelope_id, envelope_key, signer_id, metadata, status, expires_at, decided_at"
        async with self._pool.acquire() as conn:
            expired = await conn.fetch(
                f"UPDATE {envelopes} SET status = 'expired', decided_at = $1 "
                f"WHERE envelope_id IN (SELECT envelope_id FROM {envelopes} "
                "WHERE status = 'sent' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 "
                f"FOR UPDATE SKIP LOCKED) RETURNING {columns}",
                now,
                limit,
            )
            pending = await conn.fetch(
                f"SELECT {columns} FROM {envelopes} WHERE status <> 'sent' "
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
            event = outcome_event(row, status, occurred(status, row, row["decided_at"]))
            delivered += await self.notify(event)
        return delivered

    async def notify(self, event: WebhookEvent) -> bool:
        callback = self.on_event
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
                f"UPDATE {self._tables.envelopes} SET notified_at = $2 WHERE envelope_id = $1 "
                "AND notified_at IS NULL",
                event.envelope_id,
                self._clock(),
            )
        except (asyncpg.PostgresError, OSError):  # delivered; reconcile may deliver it again
            log.exception("could not mark %s notified", event.envelope_id)
        return True
