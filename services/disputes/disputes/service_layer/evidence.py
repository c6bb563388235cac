"""A case's evidence: the facts gathered from disputes' own tables, assembled per reason
(domain/evidence.py), staff edits merged over it, and the package payments submits (text,
the PDF summary and the files staff uploaded)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import asyncpg

from disputes.adapters import summary_pdf
from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain import evidence
from marketplace_contracts.events.disputes import EvidenceFile

SUMMARY_NAME = "evidence-summary.pdf"


@dataclass(frozen=True)
class Package:
    text: dict[str, str]
    files: list[EvidenceFile]

    @property
    def size(self) -> int:
        return sum(len(f.content_b64) for f in self.files)


async def gather(uow: UnitOfWork, case: asyncpg.Record) -> evidence.Facts:
    legs = await uow.cases.legs(case["dispute_id"])
    booking_ids = [leg["booking_id"] for leg in legs] or [case["booking_id"]]
    charges = await uow.facts.charges_of([*booking_ids, case["booking_id"]])
    bookings = await uow.facts.bookings(booking_ids)
    # The guest as payments named it, else as the bookings' checkout did.
    guest = case["guest_id"] or next((b.guest_id for b in bookings if b.guest_id), None)
    prior = await uow.facts.prior_undisputed(guest, booking_ids) if guest else []
    return evidence.Facts(
        reason=case["reason"],
        amount=case["amount"],
        currency=case["currency"],
        three_d_secure=case["three_d_secure"],
        bookings=bookings,
        facts=await uow.facts.facts(booking_ids),
        prior_bookings=prior,
        charges=[dict(c) for c in charges],
    )


async def text_of(uow: UnitOfWork, case: asyncpg.Record) -> tuple[dict[str, str], dict[str, Any]]:
    """The evidence text as it would be submitted now, and the assembled text alone."""
    assembled = evidence.assemble(await gather(uow, case))
    return evidence.merge(assembled, case["text_edits"]), assembled


def summary(case: asyncpg.Record, text: dict[str, str]) -> bytes:
    header = {
        "Dispute": f"{case['dispute_id']} ({case['processor_dispute_id']})",
        "Payment": case["payment_id"],
        "Booking": case["booking_id"],
        "Reason": case["reason"],
        "Amount": f"{case['amount'] / 100:.2f} {case['currency'].upper()}",
        "Respond by": case["due_by"].isoformat() if case["due_by"] else "-",
    }
    return summary_pdf.render(header, text, case["opened_at"])


async def package(uow: UnitOfWork, case: asyncpg.Record) -> Package:
    """The text, staff's files (one per field: Stripe takes one), and the PDF summary in the
    reason's file field, or in `uncategorized_file` when staff filled that one (else only its
    text goes: every line of it is in the text fields too)."""
    text, _ = await text_of(uow, case)
    files = [
        _file(row["field"], row["filename"], row["content_type"], row["content"])
        for row in await uow.cases.files(case["dispute_id"], content=True)
    ]
    taken = {f.field for f in files}
    free = [
        f for f in (evidence.summary_field(case["reason"]), "uncategorized_file") if f not in taken
    ]
    if free:
        files.insert(0, _file(free[0], SUMMARY_NAME, "application/pdf", summary(case, text)))
    return Package(text, files)


def _file(field: str, filename: str, content_type: str, content: bytes) -> EvidenceFile:
    return EvidenceFile(
        field=field,
        filename=filename,
        content_type=content_type,
        sha256=hashlib.sha256(content).hexdigest(),
        content_b64=base64.b64encode(content).decode(),
    )
