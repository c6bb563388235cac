"""Evidence assembled from what the platform knows, mapped per reason onto Stripe's fields.

The facts (`Facts`) come from the topics disputes consumes: the booking(s) the payment paid
for with the checkout's IP address and user agent, the quote lines and the cancellation policy
snapshot the guest accepted, signed documents with their audit trail, amendments, damage claims,
refunds, and the guest's earlier bookings that were never disputed. `assemble` turns them into
Stripe's evidence text fields for the dispute's reason; a PDF summary of every fact goes in the
reason's best file field (`SUMMARY_FIELD`). Staff edits override the assembled text, field by
field (None removes a field).

Per reason (Stripe's guidance for each, docs/disputes.md):
- `fraudulent`, `unrecognized`: `customer_purchase_ip`, `access_activity_log` (checkout and
  signatures: time, IP, user agent), `uncategorized_text` (the guest's prior undisputed
  bookings, 3-D Secure);
- `product_not_received`, `product_unacceptable`: `service_date`, `access_activity_log`
  (signatures, the stay completed), `product_description`;
- `credit_not_processed`, `subscription_canceled`: `cancellation_policy_disclosure`,
  `refund_refusal_explanation`, `refund_policy_disclosure`, `cancellation_rebuttal`;
- `duplicate`: `duplicate_charge_explanation` (each charge of the booking and what it paid);
- every reason: `product_description`, `service_date`, `customer_purchase_ip` when known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TEXT_FIELDS = frozenset(
    {
        "access_activity_log",
        "billing_address",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "uncategorized_text",
    }
)
FILE_FIELDS = frozenset(
    {
        "cancellation_policy",
        "customer_communication",
        "customer_signature",
        "duplicate_charge_documentation",
        "receipt",
        "refund_policy",
        "service_documentation",
        "uncategorized_file",
    }
)
# Stripe takes PDF, JPEG and PNG as dispute evidence; a file must start as its type does (a
# file Stripe cannot read would fail the whole submission, at the deadline).
FILE_TYPES = {
    "application/pdf": b"%PDF-",
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
}


def is_file_type(content_type: str, content: bytes) -> bool:
    magic = FILE_TYPES.get(content_type)
    return magic is not None and content.startswith(magic)


SUMMARY_FIELD = {
    "fraudulent": "uncategorized_file",
    "unrecognized": "uncategorized_file",
    "product_not_received": "service_documentation",
    "product_unacceptable": "service_documentation",
    "credit_not_processed": "cancellation_policy",
    "subscription_canceled": "cancellation_policy",
    "duplicate": "duplicate_charge_documentation",
}
# Stripe caps all text evidence at 150,000 characters; each field stays well under it.
FIELD_LIMIT = 10_000


@dataclass(frozen=True)
class Booking:
    booking_id: str
    guest_id: str | None = None
    listing_id: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    amount: int | None = None
    currency: str | None = None
    status: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    mandate_ip_address: str | None = None
    requested_at: datetime | None = None
    completed_at: datetime | None = None
    cancellation_policy: dict[str, Any] | None = None
    quote_lines: list[dict[str, Any]] = field(default_factory=list)
    cancellation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Fact:
    """A dated fact about a booking: a signature set, an amendment, a claim, a refund."""

    kind: str
    booking_id: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Facts:
    reason: str
    amount: int
    currency: str
    three_d_secure: bool
    bookings: list[Booking]
    facts: list[Fact] = field(default_factory=list)
    prior_bookings: list[Booking] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)

    def of(self, kind: str) -> list[Fact]:
        return [f for f in self.facts if f.kind == kind]


def summary_field(reason: str) -> str:
    return SUMMARY_FIELD.get(reason, "uncategorized_file")


def assemble(facts: Facts) -> dict[str, str]:
    """The evidence text fields for the dispute's reason, from the facts (empty ones left out)."""
    text = {
        "product_description": _description(facts),
        "service_date": _service_date(facts),
        "customer_purchase_ip": _purchase_ip(facts),
    }
    reason = facts.reason
    if reason in ("fraudulent", "unrecognized"):
        text["access_activity_log"] = _activity(facts)
        text["uncategorized_text"] = _prior(facts)
    elif reason in ("product_not_received", "product_unacceptable"):
        text["access_activity_log"] = _activity(facts)
    elif reason in ("credit_not_processed", "subscription_canceled"):
        policy = _policy(facts)
        text["cancellation_policy_disclosure"] = policy
        text["refund_policy_disclosure"] = policy
        text["refund_refusal_explanation"] = _refunds(facts)
        text["cancellation_rebuttal"] = _cancellations(facts)
    elif reason == "duplicate":
        text["duplicate_charge_explanation"] = _charges(facts)
    else:
        text["uncategorized_text"] = _activity(facts)
    return {k: v[:FIELD_LIMIT] for k, v in text.items() if v}


def merge(assembled: dict[str, str], edits: dict[str, str | None]) -> dict[str, str]:
    """Staff edits over the assembled text: a value replaces, None removes."""
    merged = dict(assembled)
    for name, value in edits.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "?"
    return f"{amount / 100:.2f} {(currency or '').upper()}".strip()


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "?"


def _description(facts: Facts) -> str:
    lines = []
    for b in facts.bookings:
        lines.append(
            f"Booking {b.booking_id}: space {b.listing_id or '?'} rented by the hour, "
            f"{_when(b.starts_at)} to {_when(b.ends_at)}, {_money(b.amount, b.currency)}."
        )
        lines += [
            f"  {q.get('code')}: {q.get('description') or ''} {_money(q.get('amount'), b.currency)}"
            for q in b.quote_lines
        ]
    return "\n".join(lines)


def _service_date(facts: Facts) -> str:
    starts = sorted(b.starts_at for b in facts.bookings if b.starts_at)
    return starts[0].date().isoformat() if starts else ""


def _purchase_ip(facts: Facts) -> str:
    for b in facts.bookings:
        if b.client_ip or b.mandate_ip_address:
            return str(b.client_ip or b.mandate_ip_address)
    return ""


def _activity(facts: Facts) -> str:
    lines = []
    for b in facts.bookings:
        if b.requested_at or b.client_ip:
            lines.append(
                f"{_when(b.requested_at)} checkout of booking {b.booking_id} from IP "
                f"{b.client_ip or b.mandate_ip_address or '?'}, user agent {b.user_agent or '?'}"
            )
        if b.completed_at:
            lines.append(f"{_when(b.completed_at)} booking {b.booking_id} completed (stay ended)")
    for fact in facts.of("signatures"):
        for doc in fact.data.get("documents", []):
            lines.append(
                f"{doc.get('signed_at')} document '{doc.get('title') or doc.get('document_id')}' "
                f"(sha256 {doc.get('sha256') or '?'}) signed by {doc.get('signer_id')} from IP "
                f"{doc.get('ip_address') or '?'}, user agent {doc.get('user_agent') or '?'}"
            )
    for fact in facts.of("amendment"):
        lines.append(f"{_when(fact.at)} amendment {fact.data.get('outcome')}: {fact.data}")
    for fact in facts.of("claim"):
        lines.append(f"{_when(fact.at)} damage claim {fact.data.get('status')}: {fact.data}")
    return "\n".join(lines)


def _prior(facts: Facts) -> str:
    head = "Payment authenticated with 3-D Secure.\n" if facts.three_d_secure else ""
    if not facts.prior_bookings:
        return head + "No earlier bookings by this guest."
    lines = [
        f"{_when(b.starts_at)} booking {b.booking_id} ({b.status}), "
        f"{_money(b.amount, b.currency)}, from IP {b.client_ip or '?'}: not disputed"
        for b in facts.prior_bookings
    ]
    return head + f"{len(lines)} earlier undisputed bookings by this guest:\n" + "\n".join(lines)


def _policy(facts: Facts) -> str:
    lines = []
    for b in facts.bookings:
        if b.cancellation_policy:
            p = b.cancellation_policy
            name = p.get("name") or p.get("id") or "policy"
            lines.append(
                f"Booking {b.booking_id}: at checkout the guest accepted the '{name}' "
                f"cancellation policy{_version(p)}: {_bands(p)}"
            )
    return "\n".join(lines)


def _version(policy: dict[str, Any]) -> str:
    return f" (version {policy['version']})" if policy.get("version") else ""


def _bands(policy: dict[str, Any]) -> str:
    """The policy's refund bands as a sentence: "cancelled at least 48 h before the start:
    100 % refunded; at least 0 h before: 0 % refunded"."""
    bands = sorted(
        (b for b in policy.get("bands") or [] if isinstance(b, dict)),
        key=lambda b: -int(b.get("hours_before") or 0),
    )
    if not bands:
        return "no refund bands recorded."
    said = [
        f"cancelled at least {int(b.get('hours_before') or 0)} h before the start, "
        f"{int(b.get('refund_bps') or 0) / 100:g} % refunded"
        for b in bands
    ]
    return "; ".join(said) + "."


def _refunds(facts: Facts) -> str:
    lines = [
        f"{_when(f.at)} refund {f.data.get('refund_id')} of "
        f"{_money(f.data.get('amount'), f.data.get('currency'))} ({f.data.get('cause') or 'refund'})"
        for f in facts.of("refund")
    ]
    if not lines:
        return "No refund was due under the cancellation policy the guest accepted."
    return "Refunds made as the accepted policy gives:\n" + "\n".join(lines)


def _cancellations(facts: Facts) -> str:
    lines = []
    for b in facts.bookings:
        if b.cancellation:
            c = b.cancellation
            lines.append(
                f"Booking {b.booking_id} cancelled by the {c.get('cancelled_by')} at "
                f"{c.get('at')} under policy {c.get('policy')} (reason: {c.get('reason') or '-'}); "
                f"refunded as that policy gives: {_money(c.get('refund'), b.currency)}."
            )
        elif b.status:
            lines.append(f"Booking {b.booking_id} was not cancelled (status {b.status}).")
    return "\n".join(lines)


def _charges(facts: Facts) -> str:
    lines = [
        f"Charge {c.get('charge_id') or c.get('payment_id')}: {_money(c.get('amount'), c.get('currency'))} "
        f"for {c.get('purpose') or 'booking'} {c.get('booking_id')}"
        for c in facts.charges
    ]
    return "Each charge paid for something different:\n" + "\n".join(lines) if lines else ""
