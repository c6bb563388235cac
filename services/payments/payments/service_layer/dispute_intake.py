"""Card dispute webhooks → the `payments.dispute_*` facts, each once (applied by the webhook
worker, in its transaction).

Stripe sends `charge.dispute.created|updated|funds_withdrawn|funds_reinstated|closed` in no set
order, and may send any of them again. Each carries the whole dispute, so any of them tells
everything known so far. Applying one:

1. the case: the first webhook of a dispute, whichever it is, creates `payments.disputes` and
   emits `dispute_opened` (with the status it was opened in: an inquiry or a chargeback);
2. money: each balance transaction not reported yet → `dispute_funds_withdrawn` (amount and
   fee) or `dispute_funds_reinstated`;
3. status: a status further along than ours (never backwards) → `dispute_updated`; a closed
   status, once → `dispute_closed` (`accepted` when payments closed it for the platform).

A webhook that is older than what we know changes nothing and emits nothing. A dispute of a
bank debit is a return (`bank_debit_webhooks.apply_dispute`: `payments.payment_returned`) and emits none
of these, so the two paths never count the same money twice. `radar.early_fraud_warning.created`
→ `payments.early_fraud_warning_received`, once per warning.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from domainkit.ids import new_uuid
from domainkit.rows import from_attrs, from_row
from marketplace_contracts.events.payments_disputes import (
    DisputeClosedV1,
    DisputedLeg,
    DisputeFundsReinstatedV1,
    DisputeFundsWithdrawnV1,
    DisputeOpenedV1,
    DisputeUpdatedV1,
    EarlyFraudWarningReceivedV1,
)
from payments.adapters import repository
from payments.adapters.stripe_disputes import (
    BalanceMove,
    DisputeReport,
    dispute_report,
    fraud_warning_report,
)
from payments.domain.checkout import US_BANK_ACCOUNT, InvalidCheckout
from payments.domain.disputes import CLOSED, dispute_id, moves_forward, opening_status
from payments.domain.ids import idempotency_key
from payments.domain.refunds import Refunded
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.disputes")
_NAMESPACE = uuid.UUID("6a0f3b7e-2d4c-4f59-8e1a-93c7d5b2e014")
ACCEPT_KEY_PREFIX = idempotency_key("dispute_accept", "")


def _meta(payment: asyncpg.Record, stripe_event_id: str) -> dict[str, Any]:
    return {
        "key": payment["payment_id"],
        "correlation_id": payment["correlation_id"] or new_uuid(),
        "causation_id": uuid.uuid5(_NAMESPACE, f"stripe-event:{stripe_event_id}"),
    }


def legs_of(
    payment: asyncpg.Record, refunded: Mapping[str, Refunded] | None = None
) -> list[DisputedLeg]:
    """What the payment paid for, booking by booking, less what was refunded of each booking
    (`refunded`, per booking), so a lost dispute's liability is spread
    over what each leg still holds: a cancelled, refunded leg bears none. Empty if the payment
    cannot be split."""
    try:
        splits = repository.captured_splits_of(
            payment, payment["captured_amount"] or payment["amount"]
        )
    except InvalidCheckout:
        return []
    legs = []
    for split in splits:
        leg = from_attrs(DisputedLeg, split)
        back = (refunded or {}).get(leg.booking_id)
        if back is not None:
            left = max(leg.amount - back.amount, 0)
            host_left = max(leg.host_amount - back.host_amount, 0)
            host_left = min(host_left, left)
            leg = leg.model_copy(
                update={"amount": left, "host_amount": host_left, "platform_fee": left - host_left}
            )
        legs.append(leg)
    return legs


async def apply_dispute_event(uow: UnitOfWork, event: dict[str, Any]) -> None:
    report = dispute_report(event["data"]["object"])
    payment = await uow.disputes.payment_of_charge(report.charge_id, report.payment_intent_id)
    if payment is None:
        log.warning("%s for unknown charge %s; ignored", event["type"], report.charge_id)
        return
    if US_BANK_ACCOUNT in (report.method_type, payment["payment_method_type"]):
        return  # a returned bank debit: bank_debit_webhooks.apply_dispute
    meta = _meta(payment, event["id"])
    case_id = dispute_id(report.processor_dispute_id)
    await _open(uow, payment, report, case_id, meta)
    case = await uow.disputes.lock(case_id)
    assert case is not None
    for move in report.moves:
        if await uow.disputes.add_move(case_id, move):
            await uow.emit(_money_fact(case, move), **meta)
    reported_at = datetime.fromtimestamp(event["created"], UTC)
    await _status(uow, case, report, reported_at, meta, _ours(event))


def _ours(event: dict[str, Any]) -> bool:
    """The event was caused by payments' own `Dispute.close` (Stripe names the request's
    idempotency key in the event)."""
    key = (event.get("request") or {}).get("idempotency_key") or ""
    return str(key).startswith(ACCEPT_KEY_PREFIX)


async def _open(
    uow: UnitOfWork,
    payment: asyncpg.Record,
    report: DisputeReport,
    case_id: str,
    meta: dict[str, Any],
) -> None:
    status = opening_status(report.status)
    created = await uow.disputes.open_dispute(
        {
            "dispute_id": case_id,
            "processor_dispute_id": report.processor_dispute_id,
            "payment_id": payment["payment_id"],
            "booking_id": payment["booking_id"],
            "charge_id": report.charge_id,
            "amount": report.amount,
            "currency": report.currency,
            "reason": report.reason,
            "status": status,
            "due_by": report.due_by,
            "opened_at": report.created_at,
        },
    )
    if not created:
        return
    log.warning("dispute %s opened on payment %s", case_id, payment["payment_id"])
    fact = DisputeOpenedV1(
        dispute_id=case_id,
        processor_dispute_id=report.processor_dispute_id,
        payment_id=payment["payment_id"],
        booking_id=payment["booking_id"],
        group_id=payment["group_id"],
        guest_id=payment["guest_id"],
        legs=legs_of(payment, await uow.refunds.refunded_by_booking(payment["payment_id"])),
        purpose=payment["payment_purpose"],
        amount=report.amount,
        currency=report.currency,
        reason=report.reason,
        status=status,
        inquiry=status.startswith("warning_"),
        due_by=report.due_by,
        card_brand=report.card_brand or payment["card_brand"],
        three_d_secure=payment["three_d_secure"],
        opened_at=report.created_at,
    )
    await uow.emit(fact, **meta)


def _money_fact(
    case: asyncpg.Record, move: BalanceMove
) -> DisputeFundsWithdrawnV1 | DisputeFundsReinstatedV1:
    withdrawn = move.kind == "withdrawn"
    fact: type[DisputeFundsWithdrawnV1 | DisputeFundsReinstatedV1] = (
        DisputeFundsWithdrawnV1 if withdrawn else DisputeFundsReinstatedV1
    )
    return from_row(
        fact,
        case,
        amount=move.amount,
        # A fee given back shows as a negative fee on the reinstatement.
        fee=move.fee if withdrawn else max(0, -move.fee),
        currency=move.currency or case["currency"],
        balance_transaction_id=move.id,
    )


async def _status(
    uow: UnitOfWork,
    case: asyncpg.Record,
    report: DisputeReport,
    reported_at: datetime,
    meta: dict[str, Any],
    closed_by_us: bool,
) -> None:
    if report.status in CLOSED:
        closed = await uow.disputes.close(case["dispute_id"], report.status, reported_at)
        if closed is None:
            return  # reported already
        # Accepted: closed by our Dispute.close (its key is in the event), or while we were
        # asking for it (the `accepting` mark, set before the call).
        accepted = report.status == "lost" and (closed_by_us or closed["accepting"])
        await uow.emit(
            from_row(
                DisputeClosedV1,
                case,
                status=report.status,
                accepted=accepted,
                closed_at=reported_at,
            ),
            **meta,
        )
        return
    if not moves_forward(case["status"], report.status):
        return
    await uow.disputes.advance(
        case["dispute_id"],
        status=report.status,
        due_by=report.due_by,
        has_evidence=report.has_evidence,
        submission_count=report.submission_count,
    )
    await uow.emit(
        from_row(
            DisputeUpdatedV1,
            case,
            status=report.status,
            previous_status=case["status"],
            due_by=report.due_by or case["due_by"],
            has_evidence=report.has_evidence,
            submission_count=report.submission_count,
        ),
        **meta,
    )


async def apply_fraud_warning(uow: UnitOfWork, event: dict[str, Any]) -> None:
    warning = fraud_warning_report(event["data"]["object"])
    payment = await uow.disputes.payment_of_charge(warning.charge_id, warning.payment_intent_id)
    if payment is None:
        log.warning("early fraud warning %s for unknown charge; ignored", warning.warning_id)
        return
    added = await uow.disputes.add_fraud_warning(
        {
            "warning_id": warning.warning_id,
            "payment_id": payment["payment_id"],
            "charge_id": warning.charge_id,
            "fraud_type": warning.fraud_type,
            "actionable": warning.actionable,
            "received_at": warning.created_at,
        },
    )
    if not added:
        return
    await uow.emit(
        from_attrs(
            EarlyFraudWarningReceivedV1,
            warning,
            payment_id=payment["payment_id"],
            booking_id=payment["booking_id"],
            received_at=warning.created_at,
        ),
        **_meta(payment, event["id"]),
    )
