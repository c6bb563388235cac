"""SQL of dispute cases: the case row, its legs, append-only history, money, evidence files
and submissions (asyncpg). A case is read `FOR UPDATE` before it changes: one writer at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from disputes.domain.case import Case, Change, Status
from eventkit.rows import insert, select_all

S = "disputes"
# Cases without a due_by (a closed inquiry) sort last.
DUE = "coalesce(c.due_by, 'infinity'::timestamptz)"


def to_case(row: asyncpg.Record) -> Case:
    return Case(
        dispute_id=row["dispute_id"],
        status=Status(row["status"]),
        inquiry=row["inquiry"],
        due_by=row["due_by"],
        resolved=row["resolved_at"] is not None,
        reason=row["reason"],
        three_d_secure=row["three_d_secure"],
        host_at_fault=row["host_at_fault"],
    )


class CasesRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(self, row: dict[str, Any], legs: list[dict[str, Any]]) -> bool:
        """A new case; False when it exists already (a duplicate `dispute_opened`)."""
        status = await insert(self.conn, f"{S}.cases", row, "ON CONFLICT DO NOTHING")
        if status != "INSERT 0 1":
            return False
        for leg in legs:
            await insert(self.conn, f"{S}.case_legs", {"dispute_id": row["dispute_id"], **leg})
        return True

    async def row(self, dispute_id: str, *, for_update: bool = False) -> asyncpg.Record | None:
        lock = " FOR UPDATE" if for_update else ""
        return await self.conn.fetchrow(
            f"SELECT * FROM {S}.cases WHERE dispute_id = $1{lock}", dispute_id
        )

    async def save(self, case: Case, **columns: Any) -> None:
        """The case's status, flags and `columns`, and each of its new changes to history."""
        values: list[Any] = [case.dispute_id, case.status.value, case.inquiry, case.due_by]
        sets = ["status = $2", "inquiry = $3", "due_by = $4", "updated_at = now()"]
        for column, value in columns.items():
            values.append(value)
            sets.append(f"{column} = ${len(values)}")
        await self.conn.execute(
            f"UPDATE {S}.cases SET {', '.join(sets)} WHERE dispute_id = $1", *values
        )
        for change in case.changes:
            await self.append(case.dispute_id, change)
        case.changes.clear()

    async def append(self, dispute_id: str, change: Change) -> None:
        await self.conn.execute(
            f"INSERT INTO {S}.case_history (dispute_id, at, actor, trigger, from_status, "
            "to_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            dispute_id,
            change.at,
            change.actor,
            change.trigger,
            change.from_status,
            change.to_status,
            change.detail,
        )

    async def legs(self, dispute_id: str) -> list[asyncpg.Record]:
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.case_legs WHERE dispute_id = $1 ORDER BY booking_id",
            dispute_id,
        )

    async def history(self, dispute_id: str) -> list[asyncpg.Record]:
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.case_history WHERE dispute_id = $1 ORDER BY id",
            dispute_id,
        )

    async def record_money(self, row: dict[str, Any]) -> bool:
        """A balance transaction of the dispute, once (keyed by its id)."""
        status = await insert(self.conn, f"{S}.dispute_money", row, "ON CONFLICT DO NOTHING")
        return status == "INSERT 0 1"

    async def money(self, dispute_id: str) -> list[asyncpg.Record]:
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.dispute_money WHERE dispute_id = $1 ORDER BY recorded_at",
            dispute_id,
        )

    async def add_file(self, row: dict[str, Any]) -> list[str]:
        """The file, replacing the case's file in the same field (Stripe takes one per
        field); the sha256 of what it replaced."""
        replaced = await self.conn.fetch(
            f"DELETE FROM {S}.evidence_files WHERE dispute_id = $1 AND field = $2 RETURNING sha256",
            row["dispute_id"],
            row["field"],
        )
        await insert(self.conn, f"{S}.evidence_files", row)
        return [r["sha256"] for r in replaced]

    async def files(self, dispute_id: str, *, content: bool = False) -> list[asyncpg.Record]:
        columns = "*" if content else "file_id, field, filename, content_type, sha256, size, "
        if not content:
            columns += "uploaded_by, uploaded_at"
        return await select_all(
            self.conn,
            f"SELECT {columns} FROM {S}.evidence_files WHERE dispute_id = $1 "
            "ORDER BY uploaded_at, file_id",
            dispute_id,
        )

    async def files_size(self, dispute_id: str, *, besides: str) -> int:
        """Bytes of the case's files, but the one in field `besides` (about to be replaced)."""
        size = await self.conn.fetchval(
            f"SELECT coalesce(sum(size), 0) FROM {S}.evidence_files "
            "WHERE dispute_id = $1 AND field <> $2",
            dispute_id,
            besides,
        )
        return int(size)

    async def add_submission(self, row: dict[str, Any]) -> bool:
        status = await insert(self.conn, f"{S}.submissions", row, "ON CONFLICT DO NOTHING")
        return status == "INSERT 0 1"

    async def answer_submission(self, request_id: str, outcome: str, at: datetime) -> bool:
        """The submission's answer, once: False when it had one (a duplicate fact)."""
        status = await self.conn.execute(
            f"UPDATE {S}.submissions SET outcome = $2, answered_at = $3 "
            "WHERE request_id = $1 AND outcome IS NULL",
            request_id,
            outcome,
            at,
        )
        return bool(status == "UPDATE 1")

    async def submissions(self, dispute_id: str) -> list[asyncpg.Record]:
        return await select_all(
            self.conn,
            f"SELECT * FROM {S}.submissions WHERE dispute_id = $1 ORDER BY requested_at",
            dispute_id,
        )

    async def queue(self, filters: dict[str, Any], after: tuple[datetime, str] | None, limit: int):
        """Cases by due_by ascending (then id), filtered; a page after the cursor `after`."""
        where: list[str] = ["true"]
        args: list[Any] = []
        for column in ("status", "reason"):  # each a set of values (None: any)
            if filters.get(column):
                args.append(sorted(filters[column]))
                where.append(f"c.{column} = ANY(${len(args)}::text[])")
        if filters.get("host_account_id"):
            args.append(filters["host_account_id"])
            where.append(
                f"EXISTS (SELECT 1 FROM {S}.case_legs l WHERE l.dispute_id = c.dispute_id "
                f"AND l.host_account_id = ${len(args)})"
            )
        if filters.get("due_before"):
            args.append(filters["due_before"])
            where.append(f"c.due_by < ${len(args)}")
        if after is not None:
            args += list(after)
            n = len(args)
            where.append(f"({DUE}, c.dispute_id) > (${n - 1}, ${n})")
        args.append(limit)
        return await select_all(
            self.conn,
            f"SELECT c.*, {DUE} AS queue_key FROM {S}.cases c WHERE {' AND '.join(where)} "
            f"ORDER BY {DUE}, c.dispute_id LIMIT ${len(args)}",
            *args,
        )

    async def due_counts(
        self, now: datetime, respondable: Sequence[str], still_open: Sequence[str]
    ) -> tuple[int, int]:
        """Cases in `still_open` statuses due within 72 hours of `now`, and those of them due
        within 24 hours whose status is in `respondable` (evidence still to be submitted)."""
        row = await self.conn.fetchrow(
            "SELECT count(*) FILTER (WHERE due_by <= $1::timestamptz + interval '72 hours') AS d72, "
            "count(*) FILTER (WHERE due_by <= $1::timestamptz + interval '24 hours' "
            "  AND status = ANY($2::text[])) AS d24 "
            f"FROM {S}.cases WHERE due_by >= $1::timestamptz AND status = ANY($3::text[])",
            now,
            respondable,
            still_open,
        )
        assert row is not None  # an aggregate always answers one row
        return row["d72"], row["d24"]
