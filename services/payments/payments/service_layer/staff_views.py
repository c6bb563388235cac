"""What staff may read of payments: the read API's use cases, over `adapters.staff_reads` (the
SQL). Read only; the HTTP layer (`entrypoints/staff.py`) checks roles and maps
`PaymentNotFound` to 404 `payment_not_found`, `FilterMissing` to 422 `validation_failed`."""

from __future__ import annotations

from typing import Any

import asyncpg

from payments.adapters import staff_reads
from payments.adapters.transfer_repository import TransfersRepository


class PaymentNotFound(LookupError):
    pass


class FilterMissing(ValueError):
    """A list of refunds asked for with neither filter."""


async def payment(pool: asyncpg.Pool, payment_id: str) -> dict[str, Any]:
    found = await staff_reads.payment(pool, payment_id)
    if found is None:
        raise PaymentNotFound(f"no payment {payment_id}")
    return found


async def payments_of_booking(pool: asyncpg.Pool, booking_id: str) -> list[dict[str, Any]]:
    """A booking's payments; a group id finds the group's one payment."""
    return await staff_reads.payments_of_booking(pool, booking_id)


async def refunds(
    pool: asyncpg.Pool, *, payment_id: str | None, booking_id: str | None
) -> list[dict[str, Any]]:
    """A payment's or a booking's refunds (at least one of the two is given)."""
    if payment_id is None and booking_id is None:
        raise FilterMissing("give payment_id or booking_id")
    return await staff_reads.refunds(pool, payment_id=payment_id, booking_id=booking_id)


async def transfers_of(pool: asyncpg.Pool, payment_id: str) -> dict[str, Any]:
    """A payment's Connect transfers (one per payout release) and their reversals."""
    return await TransfersRepository(pool).of_payment(payment_id)
