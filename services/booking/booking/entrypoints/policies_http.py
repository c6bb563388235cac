"""Gateway routes of cancellation policies: versioned data, published by admins."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.refunds import Band, Policy, ServiceFeeRefund
from booking.entrypoints.auth import CurrentPrincipal, Role, require_role
from booking.entrypoints.common import ERRORS, IdempotencyKey, run_idempotent, runtime_of
from booking.entrypoints.schemas import PolicyIn, PolicyOut

router = APIRouter(prefix="/v1", tags=["cancellation policies"])


@router.get(
    "/cancellation-policies",
    response_model=list[PolicyOut],
    responses=ERRORS,
    summary="The newest version of every cancellation policy",
)
async def list_policies(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    async with runtime_of(request).db.acquire() as conn:
        return await repository.list_policies(conn)


@router.post(
    "/cancellation-policies",
    status_code=201,
    response_model=PolicyOut,
    responses=ERRORS,
    summary="Publish a policy, or a new version of one (admins)",
    description="Bands: cancelled at least `hours_before` the start refunds `refund_bps` of the "
    "stay; a later band may not refund more. Listings name a policy; each checkout snapshots "
    "its newest version, so publishing a version never changes an existing booking.",
)
async def publish_policy(
    request: Request,
    body: PolicyIn,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.ADMIN)

    async def work(conn: asyncpg.Connection) -> tuple[int, Any]:
        current = await repository.latest_policy(conn, body.name)
        try:
            policy = Policy(
                name=body.name,
                version=(current["version"] + 1) if current else 1,
                bands=tuple(Band(b.hours_before, b.refund_bps) for b in body.bands),
                grace_hours=body.grace_hours,
                grace_min_lead_hours=body.grace_min_lead_hours,
                service_fee=ServiceFeeRefund(body.service_fee),
                host_penalty_bps=body.host_penalty_bps,
            )
        except ValueError as exc:
            raise BookingError(ErrorCode.VALIDATION_FAILED, str(exc)) from None
        try:
            async with conn.transaction():
                await repository.insert_policy(conn, policy.as_dict())
        except asyncpg.UniqueViolationError:
            raise BookingError(
                ErrorCode.POLICY_CONFLICT, f"policy {body.name} changed meanwhile: try again"
            ) from None
        return 201, policy.as_dict()

    return await run_idempotent(
        request, principal, idempotency_key, body.model_dump(mode="json"), work
    )
