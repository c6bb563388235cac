"""Test controls of what the customer's bank and the card network do: a dispute opened on a
charge (any reason, or an inquiry), the bank's decision, an early fraud warning; and the
content of an uploaded File (Stripe serves it on its files host)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from stripesim.api import ApiEndpoint
from stripesim.resources import disputes, files, radar
from stripesim.state import SimState


class DisputeSpec(BaseModel):
    reason: Literal[disputes.REASONS] = "fraudulent"  # type: ignore[valid-type]
    amount: int | None = Field(default=None, ge=1, description="default: the whole charge")
    inquiry: bool = Field(
        default=False,
        description="an inquiry (warning_needs_response): no funds withdrawn yet, refundable",
    )


class DisputeResolution(BaseModel):
    """The bank's decision: ``{"status": "won"|"lost"}`` or ``{"won": true|false}``."""

    status: Literal["won", "lost"] | None = None
    won: bool | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> DisputeResolution:
        if (self.status is None) == (self.won is None):
            raise ValueError("give exactly one of status and won")
        return self

    @property
    def is_won(self) -> bool:
        return self.won if self.won is not None else self.status == "won"


class EarlyFraudWarningSpec(BaseModel):
    fraud_type: Literal[radar.FRAUD_TYPES] = "unauthorized_use_of_card"  # type: ignore[valid-type]


def disputable_charge(state: SimState, charge_id: str) -> dict[str, Any]:
    charge = state.get(charge_id, "charge")
    if charge is None:
        raise HTTPException(404, f"No such charge: '{charge_id}'")
    if charge["status"] != "succeeded" or not charge["captured"]:
        raise HTTPException(409, f"{charge_id} is not a captured, succeeded charge")
    if charge["disputed"]:
        raise HTTPException(409, f"{charge_id} is already disputed")
    return charge


def build_router(api: ApiEndpoint) -> APIRouter:
    state = api.state
    router = APIRouter(prefix="/_sim", tags=["simulator controls"])

    @router.post("/charges/{charge}/dispute")
    async def dispute(charge: str, spec: DisputeSpec | None = None) -> dict[str, Any]:
        """The customer's bank disputes the charge: returns the Dispute. Stripe's webhooks
        follow in its order: ``charge.dispute.created``, then (not for an inquiry)
        ``charge.dispute.funds_withdrawn`` with the amount and the 1500 fee."""
        spec = spec or DisputeSpec()
        found = disputable_charge(state, charge)
        left = found["amount"] - found["amount_refunded"]
        if left <= 0:
            # A card dispute takes what is left of the charge; one of nothing would be an
            # object Stripe never sends. (A bank's return of a refunded debit may take 0.)
            raise HTTPException(409, f"{charge} is refunded in full: nothing is left to dispute")
        if spec.amount is not None and spec.amount > left:
            raise HTTPException(400, f"amount {spec.amount} exceeds what is left ({left})")
        return disputes.open_dispute(
            api.context(), found, spec.reason, spec.amount, inquiry=spec.inquiry
        )

    @router.post("/disputes/{dispute}/resolve")
    async def resolve_dispute(dispute: str, spec: DisputeResolution) -> dict[str, Any]:
        """The bank decides the dispute: won (funds reinstated, the fee kept) or lost."""
        found = state.get(dispute, "dispute")
        if found is None:
            raise HTTPException(404, f"No such dispute: '{dispute}'")
        if found["status"] in disputes.CLOSED:
            raise HTTPException(409, f"{dispute} is already closed ({found['status']})")
        return disputes.resolve(api.context(), found, spec.is_won)

    @router.post("/disputes/{dispute}/escalate")
    async def escalate_dispute(dispute: str) -> dict[str, Any]:
        """An inquiry becomes a chargeback (``needs_response``, funds withdrawn)."""
        found = state.get(dispute, "dispute")
        if found is None:
            raise HTTPException(404, f"No such dispute: '{dispute}'")
        if found["status"] not in ("warning_needs_response", "warning_under_review"):
            raise HTTPException(409, f"{dispute} is not an open inquiry ({found['status']})")
        return disputes.escalate(api.context(), found)

    @router.post("/charges/{charge}/early_fraud_warning")
    async def early_fraud_warning(
        charge: str, spec: EarlyFraudWarningSpec | None = None
    ) -> dict[str, Any]:
        """The card network warns the charge looks fraudulent
        (``radar.early_fraud_warning.created``): returns the warning."""
        found = state.get(charge, "charge")
        if found is None:
            raise HTTPException(404, f"No such charge: '{charge}'")
        if found["status"] != "succeeded":
            raise HTTPException(409, f"{charge} is not a succeeded charge")
        fraud_type = (spec or EarlyFraudWarningSpec()).fraud_type
        return radar.raise_warning(api.context(), found, fraud_type)

    @router.get("/files/{file}/contents")
    async def file_contents(file: str) -> Response:
        """What was uploaded as the File (``POST /v1/files``)."""
        content = files.contents(state, file)
        if content is None:
            raise HTTPException(404, f"No such file: '{file}'")
        kind = (state.get(file, "file") or {}).get("type")
        media = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}
        return Response(content, media_type=media.get(str(kind), "application/octet-stream"))

    return router
