"""The staff GraphQL types of the finance area (payout queue, reserve policies, daily closes,
reconciliation exceptions, payments and refunds), and how the services' JSON documents become
them. Money is integer minor units with its currency, as the services give it; the parts of a
document staff read but never filter on (a close's figures, an entry's reserves) stay JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

Doc = dict[str, Any]


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _json(value: Any) -> JSON:
    return cast(JSON, value)


@strawberry.type(description="One change of a payout entry's state, and who made it.")
class PayoutHistoryItem:
    from_state: str | None
    to_state: str
    trigger: str
    reason: str | None
    actor: str | None
    note: str | None
    at: datetime | None


@strawberry.type(description="A host's payout of one payment, waiting in finance's queue.")
class PayoutEntry:
    id: str
    kind: str
    state: str
    host_account_id: str
    booking_id: str
    payment_id: str
    currency: str
    gross: int
    reserve_amount: int | None
    amount: int | None = strawberry.field(
        description="What the host is paid (minor units); set once the reserve is known."
    )
    holds: list[str] = strawberry.field(description="Why it is held (one reason per hold).")
    due_at: datetime | None
    retries: int
    failure_code: str | None
    transfer_id: str | None
    updated_at: datetime | None
    history: list[PayoutHistoryItem] = strawberry.field(
        description="Filled by payoutEntry only (the queue lists entries without it)."
    )
    details: JSON | None = strawberry.field(
        description="payoutEntry only: reserves, releases, dispute recoveries, host_owes."
    )


@strawberry.type
class PayoutQueuePage:
    items: list[PayoutEntry]
    has_more: bool
    next_cursor: str | None = strawberry.field(
        description="Give it as `after` for the page past offset's reach."
    )


@strawberry.type(description="One version of a reserve policy.")
class ReservePolicy:
    policy_id: str
    version: int
    kind: str
    percent_bps: int
    hold_days: int
    fixed_amount: int
    currency: str | None
    created_by: str | None
    note: str | None
    created_at: datetime | None


@strawberry.type(description="Which policy applies to the platform, a risk tier or a host.")
class ReserveAssignment:
    scope: str
    scope_key: str
    policy_id: str
    assigned_by: str | None
    assigned_at: datetime | None


@strawberry.type
class ReservePolicies:
    policies: list[ReservePolicy]
    assignments: list[ReserveAssignment]


@strawberry.type(description="A business day's close for one currency.")
class DayClose:
    business_date: date
    currency: str
    status: str
    attempts: int
    blockers: JSON
    closed_at: datetime | None
    updated_at: datetime | None


@strawberry.type(description="A tie-out of the ledger to an outside figure.")
class TieOut:
    check: str
    ledger: int
    outside: int
    difference: int


@strawberry.type(description="What keeps a day open until it is acknowledged with a note.")
class CloseBlocker:
    item: str = strawberry.field(description="A tie-out's check or `exception:<id>`.")
    amount: int
    detail: str


@strawberry.type(description="A known difference or exception finance accepted, with a note.")
class CloseAcknowledgement:
    item: str
    amount: int
    note: str
    actor: str


@strawberry.type(description="A close's report: its tie-outs, blockers and figures.")
class CloseReport:
    business_date: date
    currency: str
    status: str
    closed_at: datetime | None
    tieouts: list[TieOut]
    blockers: list[CloseBlocker]
    acknowledged: list[CloseAcknowledgement]
    figures: JSON
    balances: JSON
    exceptions: JSON


@strawberry.type(description="Something the books could not match to Stripe.")
class ReconciliationException:
    id: int
    kind: str
    object_id: str
    currency: str
    detail: str
    status: str
    raised_at: datetime | None
    age_seconds: int | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


@strawberry.type
class ReconciliationExceptionPage:
    items: list[ReconciliationException]
    has_more: bool


@strawberry.type(description="A charge of a guest (checkout, extra charge, deposit).")
class Payment:
    id: str
    booking_id: str
    group_id: str | None
    purpose: str
    guest_id: str
    host_account_id: str | None
    amount: int
    platform_fee: int
    tax: int
    currency: str
    status: str
    captured_amount: int
    refunded_amount: int
    payment_method_type: str | None
    card_brand: str | None
    card_last4: str | None
    payment_intent_id: str | None
    charge_id: str | None
    failure_code: str | None
    failure_message: str | None
    correlation_id: str
    created_at: datetime | None


@strawberry.type(description="Money given back to a guest.")
class Refund:
    id: str
    payment_id: str
    booking_id: str
    cause: str | None
    amount: int
    platform_fee: int
    host_amount: int
    currency: str
    status: str
    method: str | None
    stripe_refund_id: str | None
    attempts: int
    failure_code: str | None
    last_error: str | None
    correlation_id: str
    created_at: datetime | None


@strawberry.type(description="What a finance mutation did, as its service answered.")
class FinanceAction:
    action: str
    target: str
    state: str | None = strawberry.field(description="The target's state after it, if it has one.")
    result: JSON = strawberry.field(description="The service's answer.")


def history_item(h: Doc) -> PayoutHistoryItem:
    return PayoutHistoryItem(
        from_state=h.get("from_state"), to_state=h["to_state"], trigger=h["trigger"],
        reason=h.get("reason"), actor=h.get("actor"), note=h.get("note"), at=_at(h.get("at")),
    )  # fmt: skip


def payout_entry(e: Doc, *, full: bool = False) -> PayoutEntry:
    details = (
        {k: e.get(k) for k in ("host_owes", "reserves", "releases", "dispute_recoveries")}
        if full
        else None
    )
    return PayoutEntry(
        id=e["entry_id"], kind=e["kind"], state=e["state"], host_account_id=e["host_account_id"],
        booking_id=e["booking_id"], payment_id=e["payment_id"], currency=e["currency"],
        gross=e["gross"], reserve_amount=e.get("reserve_amount"), amount=e.get("amount"),
        holds=list(e.get("holds") or []), due_at=_at(e.get("due_at")),
        retries=e.get("retries") or 0, failure_code=e.get("failure_code"),
        transfer_id=e.get("transfer_id"), updated_at=_at(e.get("updated_at")),
        history=[history_item(h) for h in e.get("history", [])], details=_json(details),
    )  # fmt: skip


def reserve_policies(doc: Doc) -> ReservePolicies:
    return ReservePolicies(
        policies=[
            ReservePolicy(
                policy_id=p["policy_id"],
                version=p["version"],
                kind=p["kind"],
                percent_bps=p["percent_bps"],
                hold_days=p["hold_days"],
                fixed_amount=p["fixed_amount"],
                currency=p.get("currency"),
                created_by=p.get("created_by"),
                note=p.get("note"),
                created_at=_at(p.get("created_at")),
            )
            for p in doc["policies"]
        ],
        assignments=[
            ReserveAssignment(
                scope=a["scope"],
                scope_key=a["scope_key"],
                policy_id=a["policy_id"],
                assigned_by=a.get("assigned_by"),
                assigned_at=_at(a.get("assigned_at")),
            )
            for a in doc["assignments"]
        ],
    )


def day_close(c: Doc) -> DayClose:
    return DayClose(
        business_date=_day(c["business_date"]), currency=c["currency"], status=c["status"],
        attempts=c.get("attempts") or 0, blockers=_json(c.get("blockers") or []),
        closed_at=_at(c.get("closed_at")), updated_at=_at(c.get("updated_at")),
    )  # fmt: skip


def close_report(r: Doc) -> CloseReport:
    return CloseReport(
        business_date=_day(r["business_date"]), currency=r["currency"],
        status=r.get("status", "failed"), closed_at=_at(r.get("closed_at")),
        tieouts=[
            TieOut(check=t["check"], ledger=t["ledger"], outside=t["outside"],
                   difference=t["difference"])
            for t in r.get("tieouts", [])
        ],
        blockers=[
            CloseBlocker(item=b["item"], amount=b["amount"], detail=b.get("detail", ""))
            for b in r.get("blockers", [])
        ],
        acknowledged=[
            CloseAcknowledgement(item=a["item"], amount=a["amount"], note=a["note"],
                                 actor=a["actor"])
            for a in r.get("acknowledged", [])
        ],
        figures=_json(r.get("figures") or {}), balances=_json(r.get("balances") or {}),
        exceptions=_json(r.get("exceptions") or []),
    )  # fmt: skip


def recon_exception(x: Doc) -> ReconciliationException:
    return ReconciliationException(
        id=x["exception_id"], kind=x["kind"], object_id=x["object_id"], currency=x["currency"],
        detail=x["detail"], status=x["status"], raised_at=_at(x.get("raised_at")),
        age_seconds=x.get("age_seconds"), resolved_at=_at(x.get("resolved_at")),
        resolved_by=x.get("resolved_by"), note=x.get("note"),
    )  # fmt: skip


def payment(p: Doc) -> Payment:
    return Payment(
        id=p["payment_id"], booking_id=p["booking_id"], group_id=p.get("group_id"),
        purpose=p["purpose"], guest_id=p["guest_id"], host_account_id=p.get("host_account_id"),
        amount=p["amount"], platform_fee=p["platform_fee"], tax=p.get("tax") or 0,
        currency=p["currency"], status=p["status"], captured_amount=p["captured_amount"],
        refunded_amount=p.get("refunded_amount") or 0,
        payment_method_type=p.get("payment_method_type"), card_brand=p.get("card_brand"),
        card_last4=p.get("card_last4"), payment_intent_id=p.get("payment_intent_id"),
        charge_id=p.get("charge_id"), failure_code=p.get("failure_code"),
        failure_message=p.get("failure_message"), correlation_id=p["correlation_id"],
        created_at=_at(p.get("created_at")),
    )  # fmt: skip


def refund(r: Doc) -> Refund:
    return Refund(
        id=r["refund_id"], payment_id=r["payment_id"], booking_id=r["booking_id"],
        cause=r.get("cause"), amount=r["amount"], platform_fee=r["platform_fee"],
        host_amount=r["host_amount"], currency=r["currency"], status=r["status"],
        method=r.get("method"), stripe_refund_id=r.get("stripe_refund_id"),
        attempts=r.get("attempts") or 0, failure_code=r.get("failure_code"),
        last_error=r.get("last_error"), correlation_id=r["correlation_id"],
        created_at=_at(r.get("created_at")),
    )  # fmt: skip


def action(result: Doc) -> FinanceAction:
    return FinanceAction(
        action=result["action"], target=result["target"], state=result.get("state"),
        result=_json(result["result"]),
    )  # fmt: skip
