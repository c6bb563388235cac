"""Ops commands of `python -m payments` beside migrate/serve/asyncapi."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import asyncpg

from eventkit.cli import Extra, command_logging
from eventkit.db import command_pool, create_pool
from payments.config import PaymentsSettings
from payments.service_layer import webhooks
from payments.service_layer.refunds import RefundNotRetryable, Refunds

# Builds the Refunds ops retries with (bootstrap.ops_refunds: the composition root owns Stripe).
RefundsFactory = Callable[[PaymentsSettings, asyncpg.Pool], Refunds]


async def retry_refund(
    settings: PaymentsSettings, refund_id: str, build: RefundsFactory
) -> dict[str, Any] | None:
    """Retry one refund as the consumer would (under keys of this reopening's own); its final
    row, or None
    when there is nothing to retry."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    refunds = build(settings, pool)
    try:
        try:
            row = await refunds.retry(refund_id)
        except RefundNotRetryable as exc:
            print(f"retry-refund: {exc}", file=sys.stderr)
            return None
    finally:
        await refunds.stripe.close()
        await pool.close()
    keys = ("refund_id", "payment_id", "status", "method", "amount", "currency", "attempts")
    summary: dict[str, Any] = {key: row[key] for key in keys}
    summary |= {"stripe_refund_id": row["stripe_refund_id"], "failure_code": row["failure_code"]}
    summary["last_error"] = row["last_error"]
    return summary


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("refund_id", help="the refund to try again (see payments.refunds)")


def retry_refund_command(build: RefundsFactory) -> Extra:
    """`retry-refund`, with the Refunds the composition root builds."""

    def run(args: argparse.Namespace) -> int:
        settings = PaymentsSettings()
        command_logging(settings, "payments")
        summary = asyncio.run(retry_refund(settings, args.refund_id, build))
        if summary is None:
            return 2
        print(json.dumps(summary, indent=2))
        return 0 if summary["status"] == "succeeded" else 1

    return (
        "retry-refund",
        "try a failed refund again (same Stripe idempotency key), then emit refund_succeeded or "
        "refund_failed; exit 0 succeeded, 1 failed again, 2 nothing to retry",
        _configure,
        run,
    )


async def _replay_webhook(settings: PaymentsSettings, stripe_event_id: str) -> bool:
    async with command_pool(settings.database_url) as pool, pool.acquire() as conn:
        return await webhooks.replay(conn, stripe_event_id)


def _configure_replay(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stripe_event_id", help="a stored event (payments.stripe_webhook_events)")


def _run_replay(args: argparse.Namespace) -> int:
    settings = PaymentsSettings()
    command_logging(settings, "payments")
    if not asyncio.run(_replay_webhook(settings, args.stripe_event_id)):
        print(f"webhook-replay: no stored event {args.stripe_event_id}", file=sys.stderr)
        return 2
    print(f"webhook-replay: {args.stripe_event_id} queued to be applied again")
    return 0


WEBHOOK_REPLAY: Extra = (
    "webhook-replay",
    "apply a stored Stripe webhook event again (idempotent: statuses only move forward); "
    "exit 2 if no such event is stored",
    _configure_replay,
    _run_replay,
)
