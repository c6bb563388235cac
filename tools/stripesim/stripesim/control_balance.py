"""Test controls of money outside the platform's API calls: a refund made in Stripe's
dashboard, and payouts that fail at the bank."""

from __future__ import annotations

import copy
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from stripesim.api import ApiEndpoint
from stripesim.errors import StripeAPIError
from stripesim.resources import payouts, refunds
from stripesim.state import new_id


class DashboardRefund(BaseModel):
    charge: str | None = None
    payment_intent: str | None = None
    amount: int | None = Field(default=None, ge=1, description="default: all that is left")
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DashboardRefund:
        if (self.charge is None) == (self.payment_intent is None):
            raise ValueError("give exactly one of charge and payment_intent")
        return self


class PayoutFailure(BaseModel):
    failure_code: Literal[tuple(payouts.FAILURE_MESSAGES)] = "account_closed"  # type: ignore[valid-type]
    count: int = Field(default=1, ge=1)


def build_router(api: ApiEndpoint) -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=["simulator controls"])

    @router.post("/dashboard/refunds", response_model=None)
    async def dashboard_refund(spec: DashboardRefund) -> dict[str, Any] | JSONResponse:
        """Refund a charge outside the platform, as someone would in Stripe's dashboard: the
        same refund (``refund.created``, ``charge.refunded``, a balance transaction) with no
        idempotency key; Stripe's refusals answer as the API would (400 with ``error``)."""
        api.run_timers()
        ctx = api.context(request_id=new_id("req_", 14))
        params = {
            name: str(value) for name, value in spec.model_dump().items() if value is not None
        }
        try:
            return copy.deepcopy(refunds.create.handler(ctx, params, {}))
        except StripeAPIError as err:
            return JSONResponse(err.body(), err.status)

    @router.post("/payouts/fail_next")
    async def fail_next_payouts(spec: PayoutFailure | None = None) -> dict[str, Any]:
        """The next ``count`` payouts (automatic or manual) fail with ``failure_code`` when
        they arrive at the bank: ``payout.failed`` and a ``payout_failure`` balance transaction
        that returns the money."""
        spec = spec or PayoutFailure()
        codes = payouts.queue_failures(api.context(), spec.failure_code, spec.count)
        return {"data": codes}

    @router.get("/payouts/fail_next")
    async def queued_payout_failures() -> dict[str, Any]:
        queued = api.state.private.peek(payouts.FAILURES_KEY) or {"codes": []}
        return {"data": list(queued["codes"])}

    return router
