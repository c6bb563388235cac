"""The staff GraphQL types of the trust area (dispute cases, bookings and groups, claims,
cancellation policies), and how the services' JSON documents become them.

The services own these documents; the types name the fields staff work with and keep the
rest as `JSON` (a case's money, a change's detail, a booking's quote), so a field a service
adds later is visible without a schema change here."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

Json = dict[str, Any]


@strawberry.type(description="A dispute case in the queue (disputes' case summary).")
class DisputeSummary:
    dispute_id: str
    processor_dispute_id: str | None
    payment_id: str | None
    booking_id: str | None
    group_id: str | None
    status: str
    reason: str
    amount: int = strawberry.field(description="Minor units of `currency`.")
    currency: str
    inquiry: bool
    due_by: str | None = strawberry.field(description="The evidence deadline (ISO 8601).")
    opened_at: str | None
    outcome: str | None


@strawberry.type
class DisputePage:
    items: list[DisputeSummary]
    has_more: bool


@strawberry.type(description="An evidence text field (Stripe's name) and its value.")
class EvidenceField:
    name: str
    value: str | None


@strawberry.input(description="Set an evidence text field; a null value removes staff's text.")
class EvidenceFieldInput:
    name: str
    value: str | None = None


@strawberry.type(description="An evidence file: the assembled PDF summary or a staff upload.")
class EvidenceFile:
    field: str
    filename: str
    content_type: str
    source: str = strawberry.field(description="assembled or uploaded.")
    size: int | None = strawberry.field(description="Bytes (uploads).")


@strawberry.type(description="The evidence: staff's edits over the assembled text, and files.")
class Evidence:
    text: list[EvidenceField] = strawberry.field(
        description="What would be submitted now: the assembled text with staff's edits over it."
    )
    assembled: list[EvidenceField] = strawberry.field(description="Assembled from the facts.")
    edits: list[EvidenceField] = strawberry.field(
        description="Staff's own edits (a null value: staff removed that assembled field)."
    )
    files: list[EvidenceFile]


@strawberry.type(description="One change of the case: who, what, from which status to which.")
class CaseChange:
    at: str
    actor: str | None
    trigger: str
    from_status: str | None
    to_status: str | None
    detail: JSON


@strawberry.type(description="Who bears the loss: the policy's rule and each host's share.")
class Liability:
    outcome: str | None
    policy_version: str | None
    rule: str | None
    host_at_fault: bool | None
    host_fault_note: str | None
    shares: JSON


@strawberry.type(description="A dispute case with its evidence, history and liability.")
class DisputeCase(DisputeSummary):
    guest_id: str | None
    evidence: Evidence
    history: list[CaseChange]
    liability: Liability
    legs: JSON
    money: JSON
    submissions: JSON
    summary_pdf_path: str = strawberry.field(
        description="The console's link to the PDF summary as it would be submitted now."
    )


@strawberry.type(description="A case after a submit or accept request.")
class DisputeAction:
    dispute_id: str
    status: str
    request_id: str | None


@strawberry.type(description="A booking as the gateway shows it to staff.")
class BookingView:
    booking_id: str
    status: str
    payment_status: str
    guest_id: str
    host_id: str
    listing_id: str
    starts_at: str
    ends_at: str
    amount: int
    currency: str
    payment_id: str | None
    group_id: str | None
    mode: str
    created_at: str | None
    document: JSON = strawberry.field(description="The gateway's whole booking document.")


@strawberry.type
class BookingPage:
    items: list[BookingView]
    next_cursor: str | None


@strawberry.type(description="A Linked Booking Group with its legs.")
class CheckoutGroup:
    group_id: str
    status: str
    payment_status: str
    guest_id: str
    amount: int
    currency: str
    payment_id: str | None
    failure_reason: str | None
    created_at: str | None
    legs: list[BookingView]


@strawberry.type
class CheckoutGroupPage:
    items: list[CheckoutGroup]
    next_cursor: str | None


@strawberry.type(description="An evidence file of a damage claim.")
class ClaimEvidence:
    n: int
    filename: str
    content_type: str
    size: int


@strawberry.type(description="A host's damage claim against a booking's deposit.")
class Claim:
    claim_id: str
    booking_id: str
    host_id: str
    guest_id: str
    status: str
    amount: int
    currency: str
    description: str
    respond_by: str
    contest_reason: str | None
    decided_amount: int | None
    decided_by: str | None
    decision_note: str | None
    failure_reason: str | None
    evidence: list[ClaimEvidence]
    created_at: str


@strawberry.type
class PolicyBand:
    hours_before: int
    refund_bps: int


@strawberry.input(description="Cancelled at least hoursBefore the start refunds refundBps.")
class PolicyBandInput:
    hours_before: int
    refund_bps: int


@strawberry.type(description="The newest version of a cancellation policy.")
class CancellationPolicy:
    name: str
    version: int
    bands: list[PolicyBand]
    grace_hours: int
    grace_min_lead_hours: int
    service_fee: str
    host_penalty_bps: int


@strawberry.input(description="A policy to publish (a new name, or the next version of one).")
class CancellationPolicyInput:
    name: str
    bands: list[PolicyBandInput]
    grace_hours: int = 24
    grace_min_lead_hours: int = 48
    service_fee: str = "grace_only"
    host_penalty_bps: int = 1000


def _pick(cls: type, doc: Json, **extra: Any) -> Any:
    """`cls` from the document's fields of the same (snake_case) names."""
    names = [n for n in cls.__annotations__ if n not in extra]
    return cls(**{n: doc.get(n) for n in names}, **extra)


def summary(doc: Json) -> DisputeSummary:
    return _pick(DisputeSummary, doc)


def _fields(values: Json) -> list[EvidenceField]:
    return [
        EvidenceField(name=k, value=None if v is None else str(v))
        for k, v in sorted(values.items())
    ]


def _change(h: Json) -> CaseChange:
    values: Json = {"at": h["at"], "actor": h.get("actor"), "trigger": h["trigger"]}
    values |= {"from_status": h.get("from"), "to_status": h.get("to"), "detail": h.get("detail")}
    return CaseChange(**values)


def _liability(money: Json, fault: Json) -> Liability:
    values: Json = {k: money.get(k) for k in ("outcome", "policy_version", "rule")}
    values |= {"host_at_fault": fault.get("at_fault"), "host_fault_note": fault.get("note")}
    values["shares"] = money.get("shares") or []
    return Liability(**values)


def case(doc: Json) -> DisputeCase:
    evidence, money = doc.get("evidence") or {}, doc.get("money") or {}
    values: Json = {n: doc.get(n) for n in DisputeSummary.__annotations__}
    values |= {
        "guest_id": doc.get("guest_id"),
        "evidence": Evidence(
            text=_fields(evidence.get("text") or {}),
            assembled=_fields(evidence.get("assembled") or {}),
            edits=_fields(evidence.get("edits") or {}),
            files=[_pick(EvidenceFile, f) for f in evidence.get("files") or []],
        ),
        "history": [_change(h) for h in doc.get("history") or []],
        "liability": _liability(money, doc.get("host_fault") or {}),
        "legs": doc.get("legs") or [],
        "money": money,
        "submissions": doc.get("submissions") or [],
        "summary_pdf_path": f"/console/disputes/{doc['dispute_id']}/summary.pdf",
    }
    return DisputeCase(**values)


def booking(doc: Json) -> BookingView:
    return _pick(BookingView, doc, document=doc)


def group(doc: Json) -> CheckoutGroup:
    legs = [booking(leg) for leg in doc.get("legs") or []]
    return _pick(CheckoutGroup, doc, legs=legs)


def claim(doc: Json) -> Claim:
    evidence = [_pick(ClaimEvidence, e) for e in doc.get("evidence") or []]
    return _pick(Claim, doc, evidence=evidence)


def policy(doc: Json) -> CancellationPolicy:
    bands = [PolicyBand(**b) for b in doc.get("bands") or []]
    return _pick(CancellationPolicy, doc, bands=bands)
