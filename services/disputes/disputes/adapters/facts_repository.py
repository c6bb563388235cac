"""SQL of the facts evidence is assembled from: captured charges, bookings (one row each,
filled column group by column group by whichever fact arrives, so their order does not matter),
dated booking facts (signatures, amendments, claims, refunds: once per natural key), fraud
warnings."""

from __future__ import annotations

from typing import Any

import asyncpg

from disputes.domain.evidence import Booking, Fact
from domainkit.rows import from_row
from eventkit.rows import insert, select_all

S = "disputes"

_CHARGE = (
    f"INSERT INTO {S}.charges (payment_id, booking_id, payment_intent_id, charge_id, "
    "amount, currency, host_account_id, captured_at, group_id, transfer_group, splits, purpose) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12) "
    "ON CONFLICT (payment_id) DO NOTHING"
)


# From `requested` to any status, from `confirmed` to any but `requested`, from `completed` or
# `cancelled` to none.
_STATUS_MOVES = (
    f"CASE WHEN {S}.bookings.status IS NULL OR {S}.bookings.status = 'requested' "
    f"OR ({S}.bookings.status = 'confirmed' AND EXCLUDED.status <> 'requested') "
    f"THEN EXCLUDED.status ELSE {S}.bookings.status END"
)


class FactsRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add_charge(self, values: tuple[Any, ...]) -> None:
        await self.conn.execute(_CHARGE, *values)

    async def charge(self, payment_id: str) -> asyncpg.Record | None:
        return await self.conn.fetchrow(
            f"SELECT * FROM {S}.charges WHERE payment_id = $1", payment_id
        )

    async def charges_of(self, booking_ids: list[str]) -> list[asyncpg.Record]:
        """Every captured charge that paid for one of these bookings (a booking's checkout,
        its amendments' and claims' extra charges)."""
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.charges WHERE booking_id = ANY($1::text[]) OR EXISTS "
            "(SELECT 1 FROM jsonb_array_elements(coalesce(splits, '[]')) s "
            " WHERE s->>'booking_id' = ANY($1::text[])) ORDER BY captured_at",
            booking_ids,
        )

    async def set_status(self, booking_id: str, status: str, columns: dict[str, Any]) -> None:
        """Fill these columns of the booking's row (created if new) and move it to `status`, in
        one statement. A value already there stays (the first delivery of a fact wins; a
        redelivery changes nothing); a later status (confirmed < completed, cancelled) never
        goes back to an earlier one."""
        row = {"booking_id": booking_id, **columns, "status": status}
        fills = [f"{c} = coalesce({S}.bookings.{c}, EXCLUDED.{c})" for c in columns]
        updates = ", ".join([*fills, f"status = {_STATUS_MOVES}"])
        await insert(
            self.conn, f"{S}.bookings", row, f"ON CONFLICT (booking_id) DO UPDATE SET {updates}"
        )

    async def add_fact(self, fact: Fact, key: str) -> None:
        await self.conn.execute(
            f"INSERT INTO {S}.booking_facts (kind, fact_key, booking_id, at, data) "
            "VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING",
            fact.kind,
            key,
            fact.booking_id,
            fact.at,
            fact.data,
        )

    async def add_fraud_warning(self, row: dict[str, Any]) -> None:
        await insert(self.conn, f"{S}.fraud_warnings", row, "ON CONFLICT DO NOTHING")

    async def fraud_warnings(self, payment_id: str) -> list[asyncpg.Record]:
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.fraud_warnings WHERE payment_id = $1 ORDER BY received_at",
            payment_id,
        )

    async def bookings(self, booking_ids: list[str]) -> list[Booking]:
        rows = await self.conn.fetch(
            f"SELECT * FROM {S}.bookings WHERE booking_id = ANY($1::text[]) "
            "ORDER BY starts_at NULLS LAST, booking_id",
            booking_ids,
        )
        return [_booking(r) for r in rows]

    async def facts(self, booking_ids: list[str]) -> list[Fact]:
        rows = await self.conn.fetch(
            f"SELECT * FROM {S}.booking_facts WHERE booking_id = ANY($1::text[]) "
            "ORDER BY at, kind, fact_key",
            booking_ids,
        )
        return [Fact(r["kind"], r["booking_id"], r["at"], r["data"]) for r in rows]

    async def prior_undisputed(self, guest_id: str, exclude: list[str]) -> list[Booking]:
        """The guest's other confirmed or completed bookings that no dispute names."""
        rows = await self.conn.fetch(
            f"SELECT * FROM {S}.bookings b WHERE b.guest_id = $1 "
            "AND NOT (b.booking_id = ANY($2::text[])) AND b.status IN ('confirmed', 'completed') "
            f"AND NOT EXISTS (SELECT 1 FROM {S}.case_legs l WHERE l.booking_id = b.booking_id) "
            f"AND NOT EXISTS (SELECT 1 FROM {S}.cases c WHERE c.booking_id = b.booking_id) "
            "ORDER BY b.starts_at NULLS LAST, b.booking_id LIMIT 50",
            guest_id,
            exclude,
        )
        return [_booking(r) for r in rows]


def _booking(row: asyncpg.Record) -> Booking:
    return from_row(Booking, row, quote_lines=row["quote_lines"] or [])
