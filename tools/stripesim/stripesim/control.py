"""Test controls under ``/_sim``: reset, webhooks, clock, fault injection, card outcomes,
bank debit settlement and returns (disputes: ``control_disputes``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, field_validator

from stripesim.api import ApiEndpoint
from stripesim.control_disputes import disputable_charge
from stripesim.persistence import Persistence
from stripesim.resources import (
    accounts,
    ach,
    bank_accounts,
    outcomes,
    payment_intents,
    setup_intents,
)
from stripesim.state import FailureRule

WEBHOOK_STATUSES = ("pending", "delivered", "failed", "undelivered")


class ClockAdvance(BaseModel):
    seconds: int = Field(ge=0)


class FailureSpec(BaseModel):
    path: str = Field(description="request path or fnmatch pattern, e.g. /v1/payment_intents*")
    count: int = Field(default=1, ge=1)
    status: int = Field(default=500, ge=400, le=599)
    method: str | None = None


# The requests each `fail_next` operation names: (method, path pattern).
OPERATIONS: dict[str, tuple[str, str]] = {
    "refund": ("POST", "/v1/refunds"),
    "capture": ("POST", "/v1/payment_intents/*/capture"),
    "cancel": ("POST", "/v1/payment_intents/*/cancel"),
    "create_payment_intent": ("POST", "/v1/payment_intents"),
    "create_setup_intent": ("POST", "/v1/setup_intents"),
    "create_customer": ("POST", "/v1/customers"),
    "transfer": ("POST", "/v1/transfers"),
    "transfer_reversal": ("POST", "/v1/transfers/*/reversals"),
}


class FailNext(BaseModel):
    operation: Literal[
        "refund",
        "capture",
        "cancel",
        "create_payment_intent",
        "create_setup_intent",
        "create_customer",
        "transfer",
        "transfer_reversal",
    ]
    count: int = Field(default=1, ge=1)
    status: int = Field(
        default=500, description="429 (rate_limit) or 5xx (api_error): what clients retry"
    )

    @field_validator("status")
    @classmethod
    def _retryable(cls, status: int) -> int:
        if status != 429 and not 500 <= status <= 599:
            raise ValueError("status must be 429 or 5xx (a failure clients retry)")
        return status


class OffSessionFailure(BaseModel):
    code: Literal["card_declined", "authentication_required"] = "card_declined"
    decline_code: str | None = Field(
        default=None,
        description="default: generic_decline (card_declined) / authentication_required",
    )
    count: int = Field(default=1, ge=1)


class Onboarding(BaseModel):
    charges_enabled: bool = True
    payouts_enabled: bool = True
    details_submitted: bool = True


class Authentication(BaseModel):
    outcome: Literal["complete", "fail"] = "complete"


class AchSettlement(BaseModel):
    outcome: Literal["succeed", "fail"] = "succeed"
    failure_code: str = Field(
        default="insufficient_funds",
        description="the bank's return code when failing: "
        + ", ".join(sorted(bank_accounts.FAILURE_MESSAGES)),
    )


class AchReturn(BaseModel):
    reason: Literal[
        "debit_not_authorized",
        "insufficient_funds",
        "incorrect_account_details",
        "bank_cannot_process",
        "customer_initiated",
    ] = "debit_not_authorized"


class WebhookEndpoint(BaseModel):
    url: str | None
    secret: str | None = None


def _rule(rule: FailureRule) -> dict[str, Any]:
    return {
        "path": rule.pattern,
        "remaining": rule.remaining,
        "status": rule.status,
        "method": rule.method,
    }


def build_router(api: ApiEndpoint, persistence: Persistence | None = None) -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=["simulator controls"])
    _simulator_routes(router, api, persistence)
    _failure_routes(router, api)
    _account_routes(router, api)
    _intent_routes(router, api)
    return router


def _simulator_routes(router: APIRouter, api: ApiEndpoint, persistence: Persistence | None) -> None:
    """Health, reset, the webhook endpoint and its deliveries, the clock."""
    state, dispatcher = api.state, api.dispatcher

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Readiness, plus how the state file and the webhook workers are doing: a failing
        state file shows ``persistence.ok: false`` with the last error."""
        return {
            "ok": True,
            "now": state.now(),
            "persistence": None if persistence is None else persistence.status(),
            "webhooks": dispatcher.stats(),
        }

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        api.reset()
        return {"reset": True, "now": state.now()}

    @router.get("/webhooks")
    async def webhooks(status: str | None = None) -> dict[str, Any]:
        if status is not None and status not in WEBHOOK_STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(WEBHOOK_STATUSES)}")
        return {"url": dispatcher.url, "data": dispatcher.listing(status)}

    @router.put("/webhook-endpoint")
    async def webhook_endpoint(spec: WebhookEndpoint) -> dict[str, Any]:
        dispatcher.configure(spec.url, spec.secret)
        return {"url": dispatcher.url}

    @router.get("/clock")
    async def clock() -> dict[str, Any]:
        return {"now": state.now(), "offset": state.clock_offset}

    @router.post("/clock/advance")
    async def advance(spec: ClockAdvance) -> dict[str, Any]:
        state.advance(spec.seconds)
        done = api.run_timers()
        return {"now": state.now(), "offset": state.clock_offset, **done}


def _failure_routes(router: APIRouter, api: ApiEndpoint) -> None:
    """Injected failures of API requests (by path or by operation)."""
    state = api.state

    @router.get("/failures")
    async def failures() -> dict[str, Any]:
        return {"data": [_rule(r) for r in state.failures if r.remaining > 0]}

    @router.post("/failures")
    async def inject(spec: FailureSpec) -> dict[str, Any]:
        method = spec.method.upper() if spec.method else None
        rule = FailureRule(spec.path, spec.count, spec.status, method)
        state.failures.append(rule)
        return _rule(rule)

    @router.post("/fail_next")
    async def fail_next(spec: FailNext) -> dict[str, Any]:
        """The next ``count`` requests of one API operation (e.g. every ``POST /v1/refunds``)
        fail with ``status``; a failure the client may retry with the same idempotency key."""
        method, path = OPERATIONS[spec.operation]
        rule = FailureRule(path, spec.count, spec.status, method)
        state.failures.append(rule)
        return {"operation": spec.operation, **_rule(rule)}

    @router.delete("/failures")
    async def clear_failures() -> dict[str, Any]:
        state.failures.clear()
        return {"data": []}


def _account_routes(router: APIRouter, api: ApiEndpoint) -> None:
    """What a customer's card and a host's onboarding do next."""
    state = api.state

    def customer_id(customer: str) -> str:
        if state.get(customer, "customer") is None:
            raise HTTPException(404, f"No such customer: '{customer}'")
        return customer

    @router.post("/customers/{customer}/fail_next_off_session")
    async def fail_next_off_session(customer: str, spec: OffSessionFailure) -> dict[str, Any]:
        """The next ``count`` off-session charges of the customer decline with ``code``."""
        pending = outcomes.force_off_session_failures(
            state, customer_id(customer), spec.code, spec.decline_code, spec.count
        )
        return {"customer": customer, "data": pending}

    @router.get("/customers/{customer}/fail_next_off_session")
    async def pending_off_session_failures(customer: str) -> dict[str, Any]:
        pending = outcomes.forced_off_session_failures(state, customer_id(customer))
        return {"customer": customer, "data": pending}

    @router.delete("/customers/{customer}/fail_next_off_session")
    async def clear_off_session_failures(customer: str) -> dict[str, Any]:
        outcomes.clear_forced_off_session_failures(state, customer_id(customer))
        return {"customer": customer, "data": []}

    @router.post("/accounts/{account}/onboarding")
    async def onboarding(account: str, spec: Onboarding) -> dict[str, Any]:
        """A host's connected account finishes (or loses) onboarding: Stripe sends
        ``account.updated``. An account never created here is created with this id."""
        return accounts.set_onboarding(
            api.context(),
            account,
            charges_enabled=spec.charges_enabled,
            payouts_enabled=spec.payouts_enabled,
            details_submitted=spec.details_submitted,
        )


def _intent_routes(router: APIRouter, api: ApiEndpoint) -> None:
    """What the customer and the bank do to an intent or a charge: 3D Secure, bank debits."""
    state = api.state

    @router.post("/intents/{intent}/authenticate")
    async def authenticate(intent: str, spec: Authentication | None = None) -> dict[str, Any]:
        """Complete or fail the 3D Secure step of a PaymentIntent/SetupIntent in requires_action
        (what the customer does on the bank's page); returns the intent."""
        obj = state.objects.get(intent)
        kind = obj.get("object") if obj is not None else None
        if obj is None or kind not in ("payment_intent", "setup_intent"):
            raise HTTPException(404, f"No such PaymentIntent or SetupIntent: '{intent}'")
        if obj["status"] != "requires_action":
            raise HTTPException(409, f"{intent} has status {obj['status']}, not requires_action")
        succeed = (spec or Authentication()).outcome == "complete"
        ctx = api.context()
        if kind == "payment_intent":
            return payment_intents.authenticate(ctx, obj, succeed)
        return setup_intents.authenticate(ctx, obj, succeed)

    @router.post("/intents/{intent}/ach")
    async def settle_ach(intent: str, spec: AchSettlement | None = None) -> dict[str, Any]:
        """Settle a processing bank debit now: it succeeds, or the bank returns it with
        ``failure_code``; returns the PaymentIntent. 409 unless it is processing."""
        spec = spec or AchSettlement()
        pi = state.get(intent, "payment_intent")
        if pi is None:
            raise HTTPException(404, f"No such PaymentIntent: '{intent}'")
        if not ach.is_debit(pi):
            raise HTTPException(409, f"{intent} has status {pi['status']}, not processing")
        if spec.outcome == "fail" and spec.failure_code not in bank_accounts.FAILURE_MESSAGES:
            raise HTTPException(400, f"unknown failure_code {spec.failure_code!r}")
        ctx = api.context()
        if spec.outcome == "succeed":
            ach.settle(ctx, pi)
        else:
            ach.fail(ctx, pi, spec.failure_code)
        return pi

    @router.post("/charges/{charge}/ach_return")
    async def ach_return(charge: str, spec: AchReturn | None = None) -> dict[str, Any]:
        """The bank returns a succeeded bank debit: on Stripe, a dispute (lost at once)."""
        found = disputable_charge(state, charge)
        if found["payment_method_details"]["type"] != "us_bank_account":
            raise HTTPException(409, f"{charge} is not a bank debit (us_bank_account)")
        return ach.ach_return(api.context(), found, (spec or AchReturn()).reason)
