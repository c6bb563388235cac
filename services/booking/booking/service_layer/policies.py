"""Cancellation policies: versioned data that admins publish and each checkout snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Band, Policy, ServiceFeeRefund


async def newest(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The newest version of every policy."""
    return await repository.list_policies(conn)


async def publish(
    conn: asyncpg.Connection,
    name: str,
    bands: Iterable[tuple[int, int]],  # (hours_before, refund_bps)
    grace_hours: int,
    grace_min_lead_hours: int,
    service_fee: str,
    host_penalty_bps: int,
) -> dict[str, Any]:
    """The next version of policy `name` (its first when new); 409 `policy_conflict` when
    another admin published one meanwhile, 422 `validation_failed` for an inconsistent one."""
    current = await repository.latest_policy(conn, name)
    try:
        policy = Policy(
            name=name,
            version=(current["version"] + 1) if current else 1,
            bands=tuple(Band(hours_before, bps) for hours_before, bps in bands),
            grace_hours=grace_hours,
            grace_min_lead_hours=grace_min_lead_hours,
            service_fee=ServiceFeeRefund(service_fee),
            host_penalty_bps=host_penalty_bps,
        )
    except ValueError as exc:
        raise BookingError(ErrorCode.VALIDATION_FAILED, str(exc)) from None
    try:
        async with conn.transaction():
            await repository.insert_policy(conn, policy.as_dict())
    except asyncpg.UniqueViolationError:
        raise BookingError(
            ErrorCode.POLICY_CONFLICT, f"policy {name} changed meanwhile: try again"
        ) from None
    return policy.as_dict()
