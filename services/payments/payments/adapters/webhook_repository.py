"""SQL for Stripe webhooks: the inbox of stored events and the host accounts they report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from payments.adapters.repository import PaymentsDB
from payments.domain.checkout import US_BANK_ACCOUNT
from payments.domain.payment import PaymentStatus


class WebhooksRepository:
    """The stored Stripe events and host accounts, on a connection (inside the caller's
    transaction: a unit of work's, or a statement of its own) or on the pool."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def store_event(self, event: dict[str, Any]) -> bool:
        """True if new; a redelivered Stripe event hits UNIQUE(stripe_event_id), a no-op."""
        status = await self.db.execute(
            "INSERT INTO payments.stripe_webhook_events (stripe_event_id, type, payload) "
            "VALUES ($1, $2, $3::jsonb) ON CONFLICT (stripe_event_id) DO NOTHING",
            event["id"],
            event["type"],
            event,
        )
        return bool(status == "INSERT 0 1")

    async def settle_passed(self, ranks: Mapping[str, int], limit: int) -> list[tuple[str, Any]]:
        """Mark processed, in one statement, the pending PaymentIntent events (the first
        `limit`) that their payments have passed: the intent has payments, each holds a status
        of the event's rank or later (`ranks`), none awaits the guest's authentication and no
        bank debit awaits its settlement. Applying such an event changes nothing. Each one's
        type and Stripe `created`. A concurrent change to a payment only moves it forward,
        which keeps such an event a no-op; two workers settle an event once (the re-checked
        `processed_at IS NULL`)."""
        rows = await self.db.fetch(
            "WITH rank (status, at) AS (SELECT * FROM unnest($1::text[], $2::int[])), "
            "pending AS (SELECT e.id, e.payload->'data'->'object'->>'id' AS intent, r.at "
            "FROM payments.stripe_webhook_events e "
            "JOIN rank r ON r.status = e.payload->'data'->'object'->>'status' "
            "WHERE e.processed_at IS NULL AND e.failed_at IS NULL "
            "AND e.payload->'data'->'object'->>'object' = 'payment_intent' "
            "ORDER BY e.id LIMIT $3) "
            "UPDATE payments.stripe_webhook_events w SET processed_at = now() FROM pending p "
            "WHERE w.id = p.id AND w.processed_at IS NULL "
            "AND EXISTS (SELECT 1 FROM payments.payments WHERE payment_intent_id = p.intent) "
            "AND NOT EXISTS (SELECT 1 FROM payments.payments x "
            "LEFT JOIN rank h ON h.status = x.stripe_status WHERE x.payment_intent_id = p.intent "
            "AND (h.at IS NULL OR h.at < p.at OR x.status = $4 "
            "OR (x.payment_method_type = $5 AND x.status = $6))) "
            "RETURNING w.type, w.payload->'created' AS created",
            list(ranks),
            list(ranks.values()),
            limit,
            PaymentStatus.REQUIRES_ACTION,
            US_BANK_ACCOUNT,
            PaymentStatus.PROCESSING,
        )
        return [(row["type"], row["created"]) for row in rows]

    async def pending_event_ids(self, limit: int) -> list[int]:
        """Stored events not applied yet (and not given up on), in arrival order."""
        rows = await self.db.fetch(
            "SELECT id FROM payments.stripe_webhook_events WHERE processed_at IS NULL "
            "AND failed_at IS NULL ORDER BY id LIMIT $1",
            limit,
        )
        return [row["id"] for row in rows]

    async def record_failure(self, event_id: int, error: str, max_attempts: int) -> bool:
        """Count a failed attempt at applying a stored event; True when it was the last one
        (the event is then `failed_at` and out of the pending ones until replayed)."""
        failed: bool | None = await self.db.fetchval(
            "UPDATE payments.stripe_webhook_events SET attempts = attempts + 1, "
            "last_error = left($2, 2000), "
            "failed_at = CASE WHEN attempts + 1 >= $3 THEN now() END "
            "WHERE id = $1 AND processed_at IS NULL RETURNING failed_at IS NOT NULL",
            event_id,
            error,
            max_attempts,
        )
        return bool(failed)

    async def failed_count(self) -> int:
        """Stored events given up on, waiting for ops (`webhook-replay`)."""
        count: int = await self.db.fetchval(
            "SELECT count(*) FROM payments.stripe_webhook_events "
            "WHERE failed_at IS NOT NULL AND processed_at IS NULL"
        )
        return count

    async def take_event(self, event_id: int) -> tuple[str, dict[str, Any]] | None:
        """Claim a stored event still to apply, marked processed in the caller's transaction
        (a rollback unmarks it): its type and payload; None when another worker has it, or
        had it."""
        row = await self.db.fetchrow(
            "UPDATE payments.stripe_webhook_events SET processed_at = now() WHERE id = ("
            "SELECT id FROM payments.stripe_webhook_events "
            "WHERE id = $1 AND processed_at IS NULL FOR UPDATE SKIP LOCKED) "
            "RETURNING type, payload",
            event_id,
        )
        return None if row is None else (row["type"], row["payload"])

    async def mark_unprocessed(self, stripe_event_id: str) -> bool:
        """Have a stored event applied again; False when there is no such event."""
        status = await self.db.execute(
            "UPDATE payments.stripe_webhook_events SET processed_at = NULL, attempts = 0, "
            "last_error = NULL, failed_at = NULL WHERE stripe_event_id = $1",
            stripe_event_id,
        )
        return bool(status == "UPDATE 1")

    async def upsert_host_account(
        self,
        host_account_id: str,
        state: tuple[bool, bool, bool],
        reported_at: datetime,
    ) -> bool:
        """Record a host account's (charges, payouts, details submitted) as of `reported_at`;
        False when what is recorded is newer (Stripe does not order its events)."""
        changed = await self.db.fetchrow(
            "INSERT INTO payments.host_accounts AS h (host_account_id, charges_enabled, "
            "payouts_enabled, details_submitted, stripe_updated_at) "
            "VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (host_account_id) DO UPDATE SET "
            "charges_enabled = EXCLUDED.charges_enabled, "
            "payouts_enabled = EXCLUDED.payouts_enabled, "
            "details_submitted = EXCLUDED.details_submitted, "
            "stripe_updated_at = EXCLUDED.stripe_updated_at, updated_at = now() "
            "WHERE h.stripe_updated_at <= EXCLUDED.stripe_updated_at RETURNING host_account_id",
            host_account_id,
            *state,
            reported_at,
        )
        return changed is not None
