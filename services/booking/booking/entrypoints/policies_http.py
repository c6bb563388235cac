"""Gateway routes of cancellation policies: versioned data, published by admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request

from booking.entrypoints.auth import CurrentPrincipal, Role
from booking.entrypoints.command import Command, command
from booking.entrypoints.common import ERRORS, runtime_of
from booking.entrypoints.schemas import PolicyIn, PolicyOut
from booking.service_layer import policies

router = APIRouter(prefix="/v1", tags=["cancellation policies"])


@router.get(
    "/cancellation-policies",
    response_model=list[PolicyOut],
    responses=ERRORS,
    summary="The newest version of every cancellation policy",
)
async def list_policies(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    async with runtime_of(request).db.acquire() as conn:
        return await policies.newest(conn)


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
    body: PolicyIn, call: Annotated[Command, command(Role.ADMIN)]
) -> PolicyOut:
    bands = [(band.hours_before, band.refund_bps) for band in body.bands]
    return await call.run(
        lambda conn: policies.publish(
            conn,
            body.name,
            bands,
            body.grace_hours,
            body.grace_min_lead_hours,
            body.service_fee,
            body.host_penalty_bps,
        ),
        body.model_dump(mode="json"),
    )
