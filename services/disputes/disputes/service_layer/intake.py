"""Payments' dispute facts, applied to the cases (one transaction each, with the inbox row).

Payments reports each change once and in order per payment, but Kafka redelivers and
payments may restart: a fact already applied changes nothing (the case exists, the status does
not move backwards, a balance transaction or a submission's answer is recorded once, the case
resolves once). A fact about a case disputes has not opened yet is retried (the consumer's
retry, then the dead-letter topic to replay): it cannot be applied to nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import asyncpg

from disputes.adapters.cases_repository import to_case
from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain import liability
from disputes.domain.case import (
    RESPONDABLE,
    Case,
    Status,
    Trigger,
    processor_trigger,
)
from disputes.domain.events import Resolved
from disputes.service_layer.deadlines import Deadlines
from disputes.service_layer.publishing import publish
from eventkit.routing import PermanentError
from marketplace_contracts.events import payments_disputes as facts

# Statuses a `dispute_updated` may move a case to; closing ones wait for `dispute_closed`,
# which carries the outcome.
_CLOSED = ("won", "lost", "warning_closed")


class UnknownCase(Exception):
    """A fact about a dispute this service has no case for (yet): retried."""


class Intake:
    def __init__(self, deadlines: Deadlines, now: Callable[[], datetime]) -> None:
        self.deadlines = deadlines
        self.now = now

    async def opened(self, uow: UnitOfWork, event: facts.DisputeOpenedV1) -> None:
        if event.amount <= 0:  # a processor never disputes nothing: no case to work
            raise PermanentError(
                f"invalid: dispute {event.dispute_id} of payment {event.payment_id} "
                f"disputes {event.amount} {event.currency}"
            )
        charge = await uow.facts.charge(event.payment_id)
        legs = [leg.model_dump() for leg in event.legs]
        if not legs and charge is not None and charge["splits"]:
            legs = [_leg(s) for s in charge["splits"]]
        status = event.status if event.status in Status.__members__.values() else "needs_response"
        row = {
            **event.model_dump(
                include={
                    "dispute_id",
                    "processor_dispute_id",
                    "payment_id",
                    "booking_id",
                    "group_id",
                    "guest_id",
                    "purpose",
                    "amount",
                    "currency",
                    "reason",
                    "inquiry",
                    "due_by",
                    "three_d_secure",
                    "card_brand",
                    "opened_at",
                }
            ),
            "status": status,
        }
        if not await uow.cases.add(row, legs):
            return  # a duplicate: the case exists
        case = Case.open(
            event.dispute_id,
            Status(status),
            event.opened_at,
            inquiry=event.inquiry,
            due_by=event.due_by,
            reason=event.reason,
            three_d_secure=event.three_d_secure,
        )
        await publish(uow, await _locked(uow, case.dispute_id), case)
        await uow.cases.save(case)
        await self.deadlines.schedule(uow.conn, case, self.now())

    async def updated(self, uow: UnitOfWork, event: facts.DisputeUpdatedV1) -> None:
        row = await _locked(uow, event.dispute_id)
        case = to_case(row)
        rescheduled = event.due_by is not None and event.due_by != case.due_by
        if rescheduled:
            case.due_by = event.due_by
        moved = False
        if event.status not in _CLOSED:
            detail = {"previous": event.previous_status, "due_by": event.due_by}
            # the service's clock (the processor's, followed), not the fact's producer's
            moved = case.observe(processor_trigger(event.status), self.now(), **detail)
        if not (moved or rescheduled):
            return  # stale or repeated: nothing to write
        await uow.cases.save(case)
        if rescheduled:  # a new due_by: every timer moves
            await self.deadlines.cancel(uow.conn, case.dispute_id)
            await self.deadlines.schedule(uow.conn, case, self.now())
        elif case.status in RESPONDABLE:  # an inquiry escalated: a response is due now
            await self.deadlines.schedule(uow.conn, case, self.now())
        else:  # evidence went in (at the processor's dashboard, say): no auto-submit
            await self.deadlines.cancel(uow.conn, case.dispute_id, reminders=False)

    async def money(
        self, uow: UnitOfWork, event: facts.DisputeFundsWithdrawnV1 | facts.DisputeFundsReinstatedV1
    ) -> None:
        row = await _locked(uow, event.dispute_id)
        kind = "withdrawn" if isinstance(event, facts.DisputeFundsWithdrawnV1) else "reinstated"
        recorded = await uow.cases.record_money(
            {
                "balance_transaction_id": event.balance_transaction_id,
                "dispute_id": event.dispute_id,
                "kind": kind,
                "amount": event.amount,
                "fee": event.fee,
                "currency": event.currency,
            }
        )
        if recorded:
            case = to_case(row)
            txn = event.balance_transaction_id
            case.note(
                self.now(),
                "processor",
                f"funds_{kind}",
                amount=event.amount,
                fee=event.fee,
                txn=txn,
            )
            await uow.cases.save(case)

    async def closed(self, uow: UnitOfWork, event: facts.DisputeClosedV1) -> None:
        row = await _locked(uow, event.dispute_id)
        case = to_case(row)
        legs = [
            liability.Leg(r["booking_id"], r["host_account_id"], r["amount"], r["host_amount"])
            for r in await uow.cases.legs(event.dispute_id)
        ]
        resolving = case.close(
            event.status, event.closed_at, accepted=event.accepted, amount=event.amount, legs=legs
        )
        if not (resolving or case.changes):
            return  # a repeated fact
        columns: dict[str, Any] = {}
        for resolved in (e for e in case.events if isinstance(e, Resolved)):
            decision = resolved.decision
            columns = {
                "outcome": resolved.outcome,
                "policy_version": decision.policy_version if decision else liability.POLICY_VERSION,
                "rule": decision.rule if decision else "",
                "shares": [asdict(s) for s in decision.shares] if decision else [],
                "resolved_at": event.closed_at,
            }
        await publish(uow, row, case)
        await uow.cases.save(case, **columns)
        await self.deadlines.cancel(uow.conn, event.dispute_id)

    async def evidence_submitted(
        self, uow: UnitOfWork, event: facts.DisputeEvidenceSubmittedV1
    ) -> None:
        row = await _locked(uow, event.dispute_id)
        at = self.now()  # the service's clock, like every entry of the history
        if not await uow.cases.answer_submission(event.request_id, "submitted", at):
            return
        case = to_case(row)
        detail = {
            "request_id": event.request_id,
            "fields": event.fields,
            "file_ids": event.file_ids,
            "submitted_at": event.submitted_at.isoformat(),
        }
        if not case.observe(processor_trigger(event.status), at, **detail):
            case.note(at, "payments", "evidence_submitted", **detail)
        await uow.cases.save(case)

    async def accepted(self, uow: UnitOfWork, event: facts.DisputeAcceptedV1) -> None:
        row = await _locked(uow, event.dispute_id)
        if not await uow.cases.answer_submission(event.request_id, "accepted", self.now()):
            return
        case = to_case(row)
        if case.may(Trigger.ACCEPTANCE_CONFIRMED):
            case.act(
                Trigger.ACCEPTANCE_CONFIRMED, "payments", self.now(), request_id=event.request_id
            )
        await uow.cases.save(case)

    async def action_failed(self, uow: UnitOfWork, event: facts.DisputeActionFailedV1) -> None:
        row = await _locked(uow, event.dispute_id)
        outcome = f"failed:{event.code}"
        if not await uow.cases.answer_submission(event.request_id, outcome, self.now()):
            return
        case = to_case(row)
        detail = {"request_id": event.request_id, "code": event.code, "message": event.message}
        if event.action == "submit" and case.status is Status.SUBMITTING:
            case.act(Trigger.SUBMISSION_FAILED, "payments", self.now(), **detail)
        elif event.action == "accept" and case.status is Status.ACCEPTING:
            case.act(Trigger.ACCEPTANCE_FAILED, "payments", self.now(), **detail)
        else:  # the case moved on (closed meanwhile): the failure is kept in its history
            case.note(self.now(), "payments", "action_failed", **detail)
        await uow.cases.save(case)
        # Respondable again: the timers resume. The auto-submit too, unless it was the one
        # that failed (its request id, one per case, is spent: staff act from here).
        spent = event.request_id == f"dsr_auto_{event.dispute_id}"
        await self.deadlines.schedule(uow.conn, case, self.now(), auto=not spent)

    async def fraud_warning(
        self, uow: UnitOfWork, event: facts.EarlyFraudWarningReceivedV1
    ) -> None:
        await uow.facts.add_fraud_warning(event.model_dump())


async def _locked(uow: UnitOfWork, dispute_id: str) -> asyncpg.Record:
    row = await uow.cases.row(dispute_id, for_update=True)
    if row is None:
        raise UnknownCase(f"no case {dispute_id} yet")
    return row


def _leg(split: dict[str, object]) -> dict[str, object]:
    return {
        k: split.get(k, 0)
        for k in ("booking_id", "host_account_id", "amount", "platform_fee", "host_amount")
    }
