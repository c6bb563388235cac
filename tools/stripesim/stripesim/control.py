"""Test controls under ``/_sim``: reset, webhooks, clock, fault injection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from stripesim.api import ApiEndpoint
from stripesim.resources.payment_intents import expire_authorizations
from stripesim.state import FailureRule

WEBHOOK_STATUSES = ("pending", "delivered", "failed", "undelivered")


class ClockAdvance(BaseModel):
    seconds: int = Field(ge=0)


class FailureSpec(BaseModel):
    path: str = Field(description="request path or fnmatch pattern, e.g. /v1/payment_intents*")
    count: int = Field(default=1, ge=1)
    status: int = Field(default=500, ge=400, le=599)
    method: str | None = None


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


def build_router(api: ApiEndpoint) -> APIRouter:
    state, dispatcher = api.state, api.dispatcher
    router = APIRouter(prefix="/_sim", tags=["simulator controls"])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "now": state.now()}

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        dispatcher.reset()
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
        expired = expire_authorizations(api.context())
        return {"now": state.now(), "offset": state.clock_offset, "expired": expired}

    @router.get("/failures")
    async def failures() -> dict[str, Any]:
        return {"data": [_rule(r) for r in state.failures if r.remaining > 0]}

    @router.post("/failures")
    async def inject(spec: FailureSpec) -> dict[str, Any]:
        method = spec.method.upper() if spec.method else None
        rule = FailureRule(spec.path, spec.count, spec.status, method)
        state.failures.append(rule)
        return _rule(rule)

    @router.delete("/failures")
    async def clear_failures() -> dict[str, Any]:
        state.failures.clear()
        return {"data": []}

    return router
