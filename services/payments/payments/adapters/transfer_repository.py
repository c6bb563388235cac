"""SQL for Connect transfers and their reversals (asyncpg, on the caller's connection or pool)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from eventkit.rows import insert
from payments.adapters.repository import PaymentsDB, insert_once
from payments.domain.refunds import HOST_REFUND_METHODS

_MESSAGE_LIMIT = 2000


class TransfersRepository:
    """Connect transfers and their reversals, on a connection (inside the caller's transaction:
    a unit of work's) or on the pool (a read, or a statement of its own)."""

    def __init__(self, db: PaymentsDB) -> None:
        self.db = db

    async def get_transfer(
        self, release_id: str, *, for_update: bool = False
    ) -> asyncpg.Record | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.db.fetchrow(
            f"SELECT * FROM payments.transfers WHERE release_id = $1{lock}", release_id
        )

    async def reserve(self, row: dict[str, Any]) -> None:
        """A release's transfer, `pending` until Stripe answers (nothing if the release exists)."""
        await insert(self.db, "payments.transfers", row, "ON CONFLICT (release_id) DO NOTHING")

    async def decide(self, row: dict[str, Any]) -> None:
        """Write a release's outcome (`created` or `failed`); inserted when it was refused before
        anything was reserved. The caller has checked, with the row locked, that it was pending."""
        updates = ", ".join(
            f"{c} = EXCLUDED.{c}"
            for c in ("status", "transfer_id", "failure_code", "failure_message")
        )
        await insert(
            self.db,
            "payments.transfers",
            row,
            f"ON CONFLICT (release_id) DO UPDATE SET {updates}, updated_at = now()",
        )

    async def host_refunded(self, payment_id: str, booking_id: str) -> int:
        """The host's shares of the booking's refunds from this payment, made or under way."""
        total: int = await self.db.fetchval(
            "SELECT coalesce(sum(host_amount), 0)::bigint FROM payments.refunds "
            "WHERE payment_id = $1 AND booking_id = $2 AND status IN ('pending', 'succeeded') "
            "AND method = ANY($3::text[])",
            payment_id,
            booking_id,
            list(HOST_REFUND_METHODS),
        )
        return total

    async def transferred(self, payment_id: str, booking_id: str, except_release: str = "") -> int:
        """What the booking's transfers from this payment paid its host (or are paying), net of
        what was reversed."""
        total: int = await self.db.fetchval(
            "SELECT coalesce(sum(amount - amount_reversed), 0)::bigint FROM payments.transfers "
            "WHERE payment_id = $1 AND booking_id = $2 AND release_id <> $3 "
            "AND status IN ('pending', 'created')",
            payment_id,
            booking_id,
            except_release,
        )
        return total

    async def reversible(self, payment_id: str, booking_id: str) -> list[asyncpg.Record]:
        """The booking's separate transfers (made or under way), newest first, each with what is
        left of it once its reversals (made or pending) are taken off."""
        return list(
            await self.db.fetch(
                "SELECT t.release_id, t.transfer_id, t.host_account_id, t.currency, "
                "t.amount - coalesce((SELECT sum(r.amount) FROM payments.transfer_reversals r "
                "  WHERE r.release_id = t.release_id AND r.status IN ('pending', 'succeeded')), 0) "
                "  AS left_amount "
                "FROM payments.transfers t WHERE t.payment_id = $1 AND t.booking_id = $2 "
                "AND t.status IN ('pending', 'created') AND NOT t.destination_charge "
                "ORDER BY t.created_at DESC, t.release_id DESC",
                payment_id,
                booking_id,
            )
        )

    async def add_reversal(self, row: dict[str, Any]) -> bool:
        """A pending reversal; False when one of that key exists."""
        return await insert_once(self.db, "payments.transfer_reversals", row, "reversal_key")

    async def transfer_left(self, transfer_id: str) -> asyncpg.Record | None:
        """A made transfer by its Stripe id, with what is left of it once its reversals (made or
        pending) are taken off."""
        row: asyncpg.Record | None = await self.db.fetchrow(
            "SELECT t.*, t.amount - coalesce((SELECT sum(r.amount) FROM payments.transfer_reversals "
            "r WHERE r.release_id = t.release_id AND r.status IN ('pending', 'succeeded')), 0) "
            "AS left_amount FROM payments.transfers t WHERE t.transfer_id = $1 "
            "AND t.status = 'created' FOR UPDATE OF t",
            transfer_id,
        )
        return row

    async def pending_reversals(self, limit: int = 50) -> list[asyncpg.Record]:
        return list(
            await self.db.fetch(
                "SELECT r.*, t.transfer_id, t.status AS transfer_status, t.group_id "
                "FROM payments.transfer_reversals r JOIN payments.transfers t USING (release_id) "
                "WHERE r.status = 'pending' ORDER BY r.created_at LIMIT $1",
                limit,
            )
        )

    async def note_reversal_error(
        self, reversal_key: str, code: str, message: str, *, failed: bool
    ) -> bool:
        """One more failed attempt (`failed`: the last one); False if it was no longer pending."""
        status = await self.db.execute(
            "UPDATE payments.transfer_reversals SET attempts = attempts + 1, last_error = $2, "
            "failure_code = CASE WHEN $3 THEN $4 ELSE failure_code END, "
            "status = CASE WHEN $3 THEN 'failed' ELSE status END, updated_at = now() "
            "WHERE reversal_key = $1 AND status = 'pending'",
            reversal_key,
            f"{code}: {message}"[:_MESSAGE_LIMIT],
            failed,
            code,
        )
        return bool(status == "UPDATE 1")

    async def cancel_reversal(self, reversal_key: str) -> None:
        await self.db.execute(
            "UPDATE payments.transfer_reversals SET status = 'cancelled', updated_at = now() "
            "WHERE reversal_key = $1 AND status = 'pending'",
            reversal_key,
        )

    async def reversal_succeeded(
        self, reversal_key: str, reversal_id: str
    ) -> asyncpg.Record | None:
        """Mark the reversal made and add it to its transfer (two statements: on a connection in
        a transaction); None if it was not pending."""
        row = await self.db.fetchrow(
            "UPDATE payments.transfer_reversals SET status = 'succeeded', reversal_id = $2, "
            "attempts = attempts + 1, updated_at = now() "
            "WHERE reversal_key = $1 AND status = 'pending' RETURNING *",
            reversal_key,
            reversal_id,
        )
        if row is not None:
            await self.db.execute(
                "UPDATE payments.transfers SET amount_reversed = amount_reversed + $2, "
                "updated_at = now() WHERE release_id = $1",
                row["release_id"],
                row["amount"],
            )
        return row

    async def of_payment(self, payment_id: str) -> dict[str, list[dict[str, Any]]]:
        """A payment's transfers and reversals (ops)."""
        transfers = await self.db.fetch(
            "SELECT * FROM payments.transfers WHERE payment_id = $1 ORDER BY created_at", payment_id
        )
        reversals = await self.db.fetch(
            "SELECT * FROM payments.transfer_reversals WHERE payment_id = $1 ORDER BY created_at",
            payment_id,
        )
        return {
            "transfers": [_plain(r) for r in transfers],
            "reversals": [_plain(r) for r in reversals],
        }


def _plain(row: asyncpg.Record) -> dict[str, Any]:
    return {
        k: (str(v) if isinstance(v, uuid.UUID) else v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in dict(row).items()
    }
