"""Stripe's disputes, files and early fraud warnings, behind the gateway's client.

Two halves: reading Stripe's webhook objects into plain reports (`DisputeReport`,
`FraudWarningReport`: Stripe's field names stop here), and the calls payments makes for
disputes asked by the disputes service, each with a deterministic idempotency key
(`payments:dispute_file:<request_id>:<n>`, `payments:dispute_submit:<request_id>`,
`payments:dispute_accept:<request_id>`). Errors are the gateway's `StripeGatewayError`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from stripe.params import DisputeUpdateParams

from payments.adapters.stripe_client import answer, idempotent
from payments.adapters.stripe_gateway import StripeGateway

DISPUTE_EVIDENCE = "dispute_evidence"


@dataclass(frozen=True, slots=True)
class BalanceMove:
    """A dispute's balance transaction: the amount withdrawn (with the fee) or reinstated."""

    id: str
    kind: str  # "withdrawn" | "reinstated"
    amount: int  # positive: what left, or came back
    fee: int  # the dispute fee taken with it (0 for a reinstatement that keeps it)
    currency: str


@dataclass(frozen=True, slots=True)
class DisputeReport:
    """A Stripe dispute as a webhook reports it."""

    processor_dispute_id: str
    charge_id: str | None
    payment_intent_id: str | None
    method_type: str
    amount: int
    currency: str
    reason: str
    status: str
    due_by: datetime | None
    has_evidence: bool
    submission_count: int
    created_at: datetime
    card_brand: str | None
    moves: tuple[BalanceMove, ...]


@dataclass(frozen=True, slots=True)
class FraudWarningReport:
    warning_id: str
    charge_id: str | None
    payment_intent_id: str | None
    fraud_type: str
    actionable: bool
    created_at: datetime


def _id(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def _at(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int | float) else None


_KINDS = {"dispute": "withdrawn", "dispute_reversal": "reinstated"}


def _move(txn: dict[str, Any]) -> BalanceMove:
    amount = int(txn.get("amount") or 0)
    fee = int(txn.get("fee") or 0)
    # Stripe's reporting category says which way the money went (a withdrawal of a small
    # dispute can net to its fee alone); the sign decides only where it is missing.
    category = txn.get("reporting_category")
    if category in _KINDS:
        kind = _KINDS[category]
    else:
        kind = "reinstated" if amount > 0 else "withdrawn"
    # A reinstatement that returns the fee shows it as a negative fee.
    return BalanceMove(str(txn["id"]), kind, abs(amount), fee, str(txn.get("currency", "")))


def dispute_report(obj: dict[str, Any]) -> DisputeReport:
    details = obj.get("evidence_details") or {}
    method = obj.get("payment_method_details") or {}
    card = method.get("card") or {}
    moves = tuple(
        _move(txn) for txn in obj.get("balance_transactions") or () if isinstance(txn, dict)
    )
    created = _at(obj.get("created")) or datetime.now(UTC)
    return DisputeReport(
        processor_dispute_id=str(obj["id"]),
        charge_id=_id(obj.get("charge")),
        payment_intent_id=_id(obj.get("payment_intent")),
        method_type=str(method.get("type") or "card"),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        reason=str(obj.get("reason") or "general"),
        status=str(obj["status"]),
        due_by=_at(details.get("due_by")),
        has_evidence=bool(details.get("has_evidence")),
        submission_count=int(details.get("submission_count") or 0),
        created_at=created,
        card_brand=card.get("brand"),
        moves=moves,
    )


def fraud_warning_report(obj: dict[str, Any]) -> FraudWarningReport:
    return FraudWarningReport(
        warning_id=str(obj["id"]),
        charge_id=_id(obj.get("charge")),
        payment_intent_id=_id(obj.get("payment_intent")),
        fraud_type=str(obj.get("fraud_type") or "misc"),
        actionable=bool(obj.get("actionable")),
        created_at=_at(obj.get("created")) or datetime.now(UTC),
    )


class StripeDisputes:
    """The dispute calls (on the gateway's client: its API version, retries and timeouts)."""

    def __init__(self, gateway: StripeGateway) -> None:
        self._client = gateway.client

    async def upload_evidence(self, content: bytes, filename: str, idempotency_key: str) -> str:
        """Upload one evidence file (purpose `dispute_evidence`); its `file_` id."""
        document = io.BytesIO(content)
        document.name = filename  # the multipart part's filename
        uploaded = await answer(
            self._client.v1.files.create_async(
                {"purpose": DISPUTE_EVIDENCE, "file": document}, options=idempotent(idempotency_key)
            )
        )
        return uploaded.id

    async def submit(
        self, processor_dispute_id: str, evidence: dict[str, str], idempotency_key: str
    ) -> str:
        """Set the evidence and submit it (`submit=True`); the dispute's status after."""
        # Evidence fields are Stripe's names (text, or a file's id), checked by Stripe.
        params = cast(DisputeUpdateParams, {"evidence": dict(evidence), "submit": True})
        dispute = await answer(
            self._client.v1.disputes.update_async(
                processor_dispute_id, params, options=idempotent(idempotency_key)
            )
        )
        return str(dispute.status)

    async def close(self, processor_dispute_id: str, idempotency_key: str) -> str:
        """Accept the dispute (it is lost); its status after."""
        dispute = await answer(
            self._client.v1.disputes.close_async(
                processor_dispute_id, options=idempotent(idempotency_key)
            )
        )
        return str(dispute.status)

    async def status(self, processor_dispute_id: str) -> str:
        dispute = await answer(self._client.v1.disputes.retrieve_async(processor_dispute_id))
        return str(dispute.status)
