"""Disputes keeps its own copy of every captured charge, so a chargeback can be matched
without asking payments at dispute time."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import PaymentCapturedV1, PaymentCapturedV2

_INSERT = (
    "INSERT INTO disputes.charges (payment_id, booking_id, payment_intent_id, charge_id, "
    "amount, currency, host_account_id, captured_at, group_id, transfer_group, splits) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) "
    "ON CONFLICT (payment_id) DO NOTHING"
)


async def on_payment_captured(
    conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1, _: object
) -> None:
    """v1: one booking, one host (events produced before v2 and still on the topic)."""
    split = {
        "booking_id": event.booking_id,
        "host_account_id": event.host_account_id,
        "amount": event.amount,
        "platform_fee": event.platform_fee,
        "host_amount": event.host_amount,
    }
    await _record(conn, env, event, event.host_account_id, None, None, [split])


async def on_payment_captured_v2(
    conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV2, _: object
) -> None:
    """v2: one split per booking the charge paid for. The host account is kept when there is
    only one host to dispute with."""
    hosts = {s.host_account_id for s in event.splits}
    host = hosts.pop() if len(hosts) == 1 else None
    splits = [s.model_dump(mode="json") for s in event.splits]
    await _record(conn, env, event, host, event.group_id, event.transfer_group, splits)


async def _record(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    host_account_id: str | None,
    group_id: str | None,
    transfer_group: str | None,
    splits: list[dict[str, Any]],
) -> None:
    await conn.execute(
        _INSERT,
        event.payment_id,
        event.booking_id,
        event.payment_intent_id,
        event.charge_id,
        event.amount,
        event.currency,
        host_account_id,
        env.occurred_at,
        group_id,
        transfer_group,
        json.dumps(splits),
    )
