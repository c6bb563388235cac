"""Stripe webhooks: verify, store in the inbox table, answer fast; a worker applies them later."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import asyncpg

from eventkit.runtime import ServiceRuntime

log = logging.getLogger("payments.webhooks")


async def store_event(conn: asyncpg.Connection, event: dict[str, Any]) -> bool:
    """True if new; a redelivered Stripe event hits UNIQUE(stripe_event_id) and is a no-op."""
    status = await conn.execute(
        "INSERT INTO payments.stripe_webhook_events (stripe_event_id, type, payload) "
        "VALUES ($1, $2, $3::jsonb) ON CONFLICT (stripe_event_id) DO NOTHING",
        event["id"],
        event["type"],
        json.dumps(event),
    )
    return bool(status == "INSERT 0 1")


async def apply_pending(conn: asyncpg.Connection, limit: int = 100) -> int:
    """Reconcile our payment rows with Stripe's view of their PaymentIntents."""
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT id, type, payload FROM payments.stripe_webhook_events "
            "WHERE processed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit,
        )
        for row in rows:
            obj = json.loads(row["payload"])["data"]["object"]
            if obj.get("object") == "payment_intent":
                updated = await conn.execute(
                    "UPDATE payments.payments SET stripe_status = $2, updated_at = now() "
                    "WHERE payment_intent_id = $1",
                    obj["id"],
                    obj["status"],
                )
                if updated == "UPDATE 0":
                    log.info("webhook %s for unknown intent %s", row["type"], obj["id"])
        if rows:
            await conn.execute(
                "UPDATE payments.stripe_webhook_events SET processed_at = now() "
                "WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
    return len(rows)


async def webhook_worker(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with runtime.db.acquire() as conn:
                done = await apply_pending(conn)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("webhook worker: %r", exc)
            done = 0
        if done == 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass
