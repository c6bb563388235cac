"""A case as the API shows it (JSON): ids, status, evidence, history and money."""

from __future__ import annotations

from typing import Any

import asyncpg


def iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "dispute_id": row["dispute_id"],
        "processor_dispute_id": row["processor_dispute_id"],
        "payment_id": row["payment_id"],
        "booking_id": row["booking_id"],
        "group_id": row["group_id"],
        "status": row["status"],
        "reason": row["reason"],
        "amount": row["amount"],
        "currency": row["currency"],
        "inquiry": row["inquiry"],
        "due_by": iso(row["due_by"]),
        "opened_at": iso(row["opened_at"]),
        "outcome": row["outcome"],
    }


def money(row: asyncpg.Record, movements: list[asyncpg.Record]) -> dict[str, Any]:
    def total(kind: str, column: str) -> int:
        return sum(m[column] for m in movements if m["kind"] == kind)

    return {
        "currency": row["currency"],
        "withdrawn": total("withdrawn", "amount"),
        "fee": total("withdrawn", "fee"),
        "reinstated": total("reinstated", "amount"),
        "fee_reinstated": total("reinstated", "fee"),
        "balance_transactions": [m["balance_transaction_id"] for m in movements],
        "outcome": row["outcome"],
        "policy_version": row["policy_version"],
        "rule": row["rule"],
        "shares": row["shares"] or [],
    }


def case(
    row: asyncpg.Record,
    *,
    legs: list[asyncpg.Record],
    text: dict[str, str],
    assembled: dict[str, str],
    files: list[asyncpg.Record],
    summary_field: str,
    history: list[asyncpg.Record],
    movements: list[asyncpg.Record],
    submissions: list[asyncpg.Record],
    fraud_warnings: list[asyncpg.Record],
) -> dict[str, Any]:
    return {
        **summary(row),
        "guest_id": row["guest_id"],
        "three_d_secure": row["three_d_secure"],
        "host_fault": {"at_fault": row["host_at_fault"], "note": row["host_fault_note"]},
        "legs": [
            {
                k: leg[k]
                for k in ("booking_id", "host_account_id", "amount", "platform_fee", "host_amount")
            }
            for leg in legs
        ],
        "evidence": _evidence(row, text, assembled, files, summary_field),
        "history": [_history_entry(h) for h in history],
        "money": money(row, movements),
        "fraud_warnings": [{k: iso(v) for k, v in dict(w).items()} for w in fraud_warnings],
        "submissions": [_submission(s) for s in submissions],
    }


def _evidence(
    row: asyncpg.Record,
    text: dict[str, str],
    assembled: dict[str, str],
    files: list[asyncpg.Record],
    summary_field: str,
) -> dict[str, Any]:
    """The case's evidence: its text fields, what was assembled, staff edits, and the files
    (the assembled PDF summary first, then what staff uploaded)."""
    staff_files = [{**{k: iso(v) for k, v in dict(f).items()}, "source": "uploaded"} for f in files]
    return {
        "text": text,
        "assembled": assembled,
        "edits": row["text_edits"],
        "files": [
            {
                "field": summary_field,
                "filename": "evidence-summary.pdf",
                "content_type": "application/pdf",
                "source": "assembled",
            },
            *staff_files,
        ],
    }


def _history_entry(h: asyncpg.Record) -> dict[str, Any]:
    return {
        "at": iso(h["at"]),
        "actor": h["actor"],
        "trigger": h["trigger"],
        "from": h["from_status"],
        "to": h["to_status"],
        "detail": h["detail"],
    }


_SUBMISSION_FIELDS = (
    "request_id",
    "action",
    "auto",
    "actor",
    "requested_at",
    "outcome",
    "answered_at",
)


def _submission(s: asyncpg.Record) -> dict[str, Any]:
    return {k: iso(s[k]) for k in _SUBMISSION_FIELDS} | {"fields": list(s["fields"])}
