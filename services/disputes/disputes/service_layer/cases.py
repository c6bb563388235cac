"""What trust staff and the deadline timers do to a case, one transaction each: edit the
evidence, upload a file, record the host's fault, submit, accept; remind and auto-submit.

Submitting and accepting only ask payments (the one service that calls Stripe) through the
outbox; the case waits in `submitting` / `accepting` for payments' answer.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from disputes.adapters.cases_repository import to_case
from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain import evidence
from disputes.domain.case import RESPONDABLE, Trigger
from disputes.domain.errors import DisputeError, ErrorCode
from disputes.service_layer import evidence as packages
from disputes.service_layer.deadlines import Deadlines, dispute_of
from disputes.service_layer.publishing import publish
from domainkit.transitions import IllegalTransition

AUTO_ACTOR = "system:auto_submit"

# One submission request must fit a Kafka message (the contract's 700 kB, base64 included).
REQUEST_LIMIT = 700_000


class Cases:
    def __init__(
        self, deadlines: Deadlines, now: Callable[[], datetime], *, files_budget: int
    ) -> None:
        self.deadlines = deadlines
        self.now = now
        self.files_budget = files_budget

    async def locked(self, uow: UnitOfWork, dispute_id: str) -> asyncpg.Record:
        row = await uow.cases.row(dispute_id, for_update=True)
        if row is None:
            raise DisputeError(ErrorCode.CASE_NOT_FOUND, f"no dispute {dispute_id}")
        return row

    async def submit(
        self, uow: UnitOfWork, dispute_id: str, actor: str, *, auto: bool = False
    ) -> str:
        """Ask payments to submit the case's evidence now; the request id."""
        row = await self.locked(uow, dispute_id)
        case = to_case(row)
        if not case.may(Trigger.SUBMIT):  # before the evidence is assembled and rendered
            raise IllegalTransition(case.status, Trigger.SUBMIT)
        request_id = f"dsr_auto_{dispute_id}" if auto else f"dsr_{uuid.uuid4().hex}"
        package = await packages.package(uow, row)
        if package.size + sum(len(v) for v in package.text.values()) > REQUEST_LIMIT:
            raise DisputeError(ErrorCode.EVIDENCE_TOO_LARGE, "the evidence exceeds 700 kB")
        fields = sorted({*package.text, *(f.field for f in package.files)})
        case.submit(actor, self.now(), request_id, auto=auto, fields=fields)
        await publish(uow, row, case, package)
        await self._requested(uow, row, request_id, "submit", actor, auto=auto, fields=fields)
        await uow.cases.save(case)
        return request_id

    async def accept(self, uow: UnitOfWork, dispute_id: str, actor: str) -> str:
        """Ask payments to concede the dispute; the request id."""
        row = await self.locked(uow, dispute_id)
        case = to_case(row)
        request_id = f"dsr_{uuid.uuid4().hex}"
        case.accept(actor, self.now(), request_id)
        await publish(uow, row, case)
        await self._requested(uow, row, request_id, "accept", actor)
        await uow.cases.save(case)
        return request_id

    async def _requested(
        self,
        uow: UnitOfWork,
        row: asyncpg.Record,
        request_id: str,
        action: str,
        actor: str,
        *,
        auto: bool = False,
        fields: list[str] | None = None,
    ) -> None:
        await uow.cases.add_submission(
            {
                "request_id": request_id,
                "dispute_id": row["dispute_id"],
                "action": action,
                "auto": auto,
                "actor": actor,
                "requested_at": self.now(),
                "fields": fields or [],
            }
        )
        await self.deadlines.cancel(uow.conn, row["dispute_id"], reminders=action == "accept")

    async def edit_text(
        self, uow: UnitOfWork, dispute_id: str, edits: dict[str, str | None], actor: str
    ) -> None:
        row = await self._editable(uow, dispute_id)
        unknown = sorted(set(edits) - evidence.TEXT_FIELDS)
        if unknown:
            raise DisputeError(ErrorCode.UNKNOWN_EVIDENCE_FIELD, f"not evidence text: {unknown}")
        merged = {**row["text_edits"], **edits}
        detail = {k: "removed" if v is None else "set" for k, v in edits.items()}
        case = to_case(row)
        case.note(self.now(), actor, "evidence_edited", fields=detail)
        await uow.cases.save(case, text_edits=merged)

    async def upload(
        self, uow: UnitOfWork, dispute_id: str, field: str, file: dict[str, Any], actor: str
    ) -> dict[str, Any]:
        """A staff file in evidence field `field` (`file`: filename, content_type, content)."""
        row = await self._editable(uow, dispute_id)
        content: bytes = file["content"]
        if field not in evidence.FILE_FIELDS:
            raise DisputeError(ErrorCode.UNKNOWN_EVIDENCE_FIELD, f"not an evidence file: {field}")
        if not content:
            raise DisputeError(ErrorCode.EMPTY_FILE, "the file is empty")
        if not evidence.is_file_type(file["content_type"], content):
            raise DisputeError(
                ErrorCode.UNSUPPORTED_FILE_TYPE, "PDF, JPEG or PNG only, content as its type"
            )
        used = await uow.cases.files_size(dispute_id, besides=field)
        if used + len(content) > self.files_budget:
            left = max(self.files_budget - used, 0)
            raise DisputeError(ErrorCode.EVIDENCE_TOO_LARGE, f"{left} bytes left for files")
        stored = {
            "file_id": f"dsf_{uuid.uuid4().hex}",
            "dispute_id": dispute_id,
            "field": field,
            "filename": file["filename"],
            "content_type": file["content_type"],
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "uploaded_by": actor,
            "uploaded_at": self.now(),
        }
        replaced = await uow.cases.add_file({**stored, "content": content})
        detail = {k: stored[k] for k in ("file_id", "field", "filename", "sha256", "size")}
        case = to_case(row)
        case.note(self.now(), actor, "evidence_file_added", replaced=replaced, **detail)
        await uow.cases.save(case)
        return stored

    async def set_host_fault(
        self, uow: UnitOfWork, dispute_id: str, at_fault: bool, note: str, actor: str
    ) -> None:
        row = await self.locked(uow, dispute_id)
        if row["resolved_at"] is not None:
            raise DisputeError(ErrorCode.CASE_RESOLVED, "the case is resolved already")
        case = to_case(row)
        case.note(self.now(), actor, "host_fault_set", at_fault=at_fault, note=note)
        await uow.cases.save(case, host_at_fault=at_fault, host_fault_note=note)

    async def _editable(self, uow: UnitOfWork, dispute_id: str) -> asyncpg.Record:
        row = await self.locked(uow, dispute_id)
        if row["status"] not in RESPONDABLE:
            raise DisputeError(
                ErrorCode.EVIDENCE_LOCKED, f"evidence is final once the case is {row['status']}"
            )
        return row

    # -- the timers' jobs (eventkit.scheduler handlers) -------------------------------------
    async def remind(self, uow: UnitOfWork, subject: str, payload: dict[str, Any]) -> None:
        row = await uow.cases.row(dispute_of(subject), for_update=True)
        if row is None:
            return
        case = to_case(row)
        if case.remind(int(payload["hours"]), self.now()):
            await publish(uow, row, case)
            await uow.cases.save(case)

    async def auto_submit(self, uow: UnitOfWork, dispute_id: str) -> None:
        # Locked before the check: staff submitting at this moment wins or waits, never both.
        row = await uow.cases.row(dispute_id, for_update=True)
        if row is not None and row["status"] in RESPONDABLE:
            await self.submit(uow, dispute_id, AUTO_ACTOR, auto=True)
