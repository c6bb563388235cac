"""SQL for Stripe webhooks: the inbox of stored events and the host accounts they report."""

from __future__ import annotations

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

    async def store_event(self, event: dict[str, Any], settled_by: list[str] | None) -> str:
        """Store a received event: "new", "settled" (new, and stored as processed: see
        `webhooks.store_event`) or "duplicate" (a redelivered Stripe event hits
        UNIQUE(stripe_event_id), a no-op).

        `settled_by`: for a PaymentIntent's event, the intent statuses at or beyond the
        event's. When the intent has payments, each holds one of them, none awaits the guest's
        authentication and no bank debit awaits its settlement, the event can change nothing
        and is stored as processed. The payments are read without a lock: a concurrent change
        only moves a payment's status forward, which keeps such an event a no-op."""
        intent = event["data"]["object"].get("id") if settled_by else None
        settled = await self.db.fetchval(
            "INSERT INTO payments.stripe_webhook_events (stripe_event_id, type, payload, "
            "processed_at) SELECT $1, $2, $3::jsonb, CASE WHEN $4::text IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM payments.payments WHERE payment_intent_id = $4) "
            "AND NOT EXISTS (SELECT 1 FROM payments.payments p WHERE p.payment_intent_id = $4 "
            "AND (p.stripe_status IS NULL OR p.stripe_status <> ALL($5::text[]) "
            "OR p.status = $6 OR (p.payment_method_type = $7 AND p.status = $8))) "
            "THEN now() END "
            "ON CONFLICT (stripe_event_id) DO NOTHING RETURNING processed_at IS NOT NULL",
            event["id"],
            event["type"],
            event,
            intent,
            settled_by or [],
            PaymentStatus.REQUIRES_ACTION,
            US_BANK_ACCOUNT,
            PaymentStatus.PROCESSING,
        )
        if settled is None:
            return "duplicate"
        return "settled" if settled else "new"

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
