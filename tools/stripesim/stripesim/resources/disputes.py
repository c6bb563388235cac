"""Dispute: opened by the customer's bank (test controls, or a bank debit's test account),
retrieve, list, update (evidence, ``submit``), close (accept); resolved by a test control.

A card dispute opens ``needs_response`` (an inquiry: ``warning_needs_response``) with
``evidence_details.due_by`` 7 days of sim time away; the disputed amount is withdrawn
(``charge.dispute.funds_withdrawn``, a balance transaction) except for inquiries, and the charge
cannot be refunded any more (``charge_disputed``). Submitting evidence puts it
``under_review``; the bank decides (``/_sim/disputes/{id}/resolve``): ``won`` reinstates the
funds, ``lost`` keeps them withdrawn. Closing it accepts it as ``lost``. An inquiry may escalate
to a chargeback (``/_sim/disputes/{id}/escalate``, or decided lost): ``needs_response`` with a
new ``due_by``, then the funds are withdrawn.

A bank debit (ACH) dispute cannot be contested: it is ``lost`` at once
(``charge.dispute.closed`` right after ``charge.dispute.created``), and the PaymentMethod's
mandate is revoked.
"""

from __future__ import annotations

import copy
from typing import Any

from stripesim.errors import StripeAPIError, resource_missing
from stripesim.forms import Params, check_known, get_bool, get_dict, get_metadata, get_str
from stripesim.resources import balance, files, listing, mandates
from stripesim.routing import route
from stripesim.state import Ctx

EVIDENCE_WINDOW_SECONDS = 7 * 24 * 60 * 60
DISPUTE_FEE = 1500
REASONS = (
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
)
EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)
# The evidence fields that take a File (an upload with purpose dispute_evidence), by id.
FILE_FIELDS = frozenset(
    {
        "cancellation_policy",
        "customer_communication",
        "customer_signature",
        "duplicate_charge_documentation",
        "receipt",
        "refund_policy",
        "service_documentation",
        "shipping_documentation",
        "uncategorized_file",
    }
)
RESPONDABLE = ("needs_response", "warning_needs_response")
CLOSED = ("won", "lost", "warning_closed")
_SUBMITTED = {"needs_response": "under_review", "warning_needs_response": "warning_under_review"}


def load(ctx: Ctx, dispute_id: str, param: str = "dispute") -> dict[str, Any]:
    dispute = ctx.state.get(dispute_id, "dispute")
    if dispute is None:
        raise resource_missing("dispute", dispute_id, param)
    return dispute


def _refusal(message: str, param: str | None = None) -> StripeAPIError:
    return StripeAPIError(400, "invalid_request_error", message, param=param)


def _balance_transaction(
    ctx: Ctx, dispute: dict[str, Any], amount: int, *, withdrawal: bool
) -> dict[str, Any]:
    """Funds withdrawn (with the dispute fee) or reinstated; the dispute shows a copy."""
    fee = DISPUTE_FEE if withdrawal else 0
    txn = balance.for_dispute(ctx, dispute, amount, fee, withdrawal=withdrawal)
    return copy.deepcopy(txn)


def _method_details(charge: dict[str, Any]) -> dict[str, Any]:
    details = charge["payment_method_details"] or {}
    kind = details.get("type", "card")
    if kind == "card":
        card = details.get("card", {})
        return {
            "type": "card",
            "card": {
                "brand": card.get("brand"),
                "case_type": "chargeback",
                "network_reason_code": None,
            },
        }
    return {"type": kind, kind: {}}


def open_dispute(
    ctx: Ctx,
    charge: dict[str, Any],
    reason: str,
    amount: int | None = None,
    *,
    inquiry: bool = False,
) -> dict[str, Any]:
    """The customer's bank disputes ``amount`` of the charge (what is left of it by default)."""
    bank_debit = (charge["payment_method_details"] or {}).get("type") == "us_bank_account"
    dispute = ctx.state.base_object("dispute", "du_")
    dispute.update(
        {
            "amount": charge["amount"] - charge["amount_refunded"] if amount is None else amount,
            "balance_transactions": [],
            "charge": charge["id"],
            "currency": charge["currency"],
            "enhanced_eligibility_types": [],
            "evidence": dict.fromkeys(EVIDENCE_FIELDS),
            "evidence_details": {
                "due_by": None if bank_debit else ctx.now() + EVIDENCE_WINDOW_SECONDS,
                "enhanced_eligibility": {},
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": inquiry,
            "network_reason_code": None,
            "payment_intent": charge["payment_intent"],
            "payment_method_details": _method_details(charge),
            "reason": reason,
            "status": "warning_needs_response" if inquiry else "needs_response",
        }
    )
    ctx.state.put(dispute)
    charge["disputed"] = True
    ctx.emit("charge.dispute.created", dispute)
    if not inquiry:
        _withdraw(ctx, dispute)
    if bank_debit:  # an ACH dispute is final: lost at once, and the mandate is revoked
        mandates.revoke(ctx, charge["payment_method"])
        _close(ctx, dispute, "lost")
    return dispute


def _withdraw(ctx: Ctx, dispute: dict[str, Any]) -> None:
    txn = _balance_transaction(ctx, dispute, -dispute["amount"], withdrawal=True)
    dispute["balance_transactions"].append(txn)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)


def _close(ctx: Ctx, dispute: dict[str, Any], status: str) -> None:
    dispute["status"] = status
    dispute["is_charge_refundable"] = status in ("won", "warning_closed")
    ctx.emit("charge.dispute.closed", dispute)


def escalate(ctx: Ctx, dispute: dict[str, Any]) -> dict[str, Any]:
    """An inquiry becomes a chargeback: ``needs_response`` with a new deadline
    (``charge.dispute.updated``), then the funds are withdrawn; the charge is no longer
    refundable."""
    dispute.update(status="needs_response", is_charge_refundable=False)
    details = dispute["evidence_details"]
    details.update(due_by=ctx.now() + EVIDENCE_WINDOW_SECONDS, past_due=False)
    ctx.emit("charge.dispute.updated", dispute)
    _withdraw(ctx, dispute)
    return dispute


def resolve(ctx: Ctx, dispute: dict[str, Any], won: bool) -> dict[str, Any]:
    """The bank decides (the test control): won reinstates the funds, lost keeps them. An
    inquiry decided against the platform escalates to a chargeback first."""
    if dispute["status"].startswith("warning_"):  # an inquiry
        if won:
            _close(ctx, dispute, "warning_closed")
            return dispute
        escalate(ctx, dispute)
    withdrawn = bool(dispute["balance_transactions"])
    _close(ctx, dispute, "won" if won else "lost")
    if won and withdrawn:
        txn = _balance_transaction(ctx, dispute, dispute["amount"], withdrawal=False)
        dispute["balance_transactions"].append(txn)
        ctx.emit("charge.dispute.funds_reinstated", dispute)
    return dispute


@route("GET", "/v1/disputes/{dispute}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx, args["dispute"])


@route("GET", "/v1/disputes", ["charge", "payment_intent", "created", *listing.PAGINATION_PARAMS])
def list_disputes(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    filters = {
        "charge": get_str(params, "charge"),
        "payment_intent": get_str(params, "payment_intent"),
    }
    return listing.page(ctx.state, params, "dispute", filters, kind="dispute", url="/v1/disputes")


def _evidence(ctx: Ctx, params: Params, current: dict[str, Any]) -> dict[str, Any]:
    """Merge ``evidence[...]`` into the dispute's evidence (an empty value unsets a field); a
    file field takes the id of an uploaded dispute_evidence File."""
    evidence = get_dict(params, "evidence")
    check_known(evidence, EVIDENCE_FIELDS, prefix="evidence")
    merged = dict(current)
    for name in evidence:
        value = get_str(evidence, name)
        if value and name in FILE_FIELDS:
            value = files.evidence_file(ctx, value, name)
        merged[name] = value or None
    return merged


@route("POST", "/v1/disputes/{dispute}", ["evidence", "metadata", "submit"])
def update(ctx: Ctx, params: Params, args: dict[str, str]) -> dict[str, Any]:
    evidence = get_dict(params, "evidence")
    submit = get_bool(params, "submit", default=True)
    dispute = load(ctx, args["dispute"])
    metadata = get_metadata(params, dispute["metadata"])
    merged = _evidence(ctx, params, dispute["evidence"])
    if dispute["status"] in CLOSED:
        raise _refusal(f"This dispute ({dispute['id']}) is already closed.")
    if submit and dispute["status"] not in RESPONDABLE and evidence:
        raise _refusal(
            f"Evidence for this dispute ({dispute['id']}) was already submitted; it is "
            f"{dispute['status']}.",
            param="submit",
        )
    details = dispute["evidence_details"]
    dispute.update(evidence=merged, metadata=metadata)
    details["has_evidence"] = any(v is not None for v in merged.values())
    if submit and dispute["status"] in RESPONDABLE:
        dispute["status"] = _SUBMITTED[dispute["status"]]
        details["submission_count"] += 1
        details["past_due"] = details["due_by"] is not None and ctx.now() > details["due_by"]
    ctx.emit("charge.dispute.updated", dispute)
    return dispute


@route("POST", "/v1/disputes/{dispute}/close")
def close(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    """Accept the dispute: it is lost (an inquiry just closes)."""
    dispute = load(ctx, args["dispute"])
    if dispute["status"] not in RESPONDABLE:
        raise _refusal(
            f"This dispute ({dispute['id']}) cannot be closed: it is {dispute['status']}. Only "
            f"a dispute with one of the following statuses may be closed: "
            f"{', '.join(RESPONDABLE)}."
        )
    warning = dispute["status"] == "warning_needs_response"
    _close(ctx, dispute, "warning_closed" if warning else "lost")
    return dispute


ROUTES = [list_disputes, retrieve, update, close]
