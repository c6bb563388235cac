"""Finance staff's HTTP surface of the payout queue, host payout settings and reserve
policies (internal port, like the ledger routes). Callers need a finance, admin or service
token; a change is recorded against the token's person (eventkit.acting), a body `actor` is
accepted and ignored. Errors use the project's error body: 404
`entry_not_found`, 409 `illegal_transition` / `entry_changed`, 422 `validation_failed` /
`invalid_reserve_policy` / `unknown_reserve_policy` (finance/entrypoints/staff.py maps them).
A change may carry an Idempotency-Key (eventkit.endpoint)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import APIRouter, FastAPI, Path, Query
from pydantic import Field, Strict, model_validator

from eventkit import acting
from eventkit.endpoint import refusals
from eventkit.fields import (
    Amount,
    BoundedInstant,
    Currency,
    Note,
    RequestBody,
    RequiredNote,
    one_line,
)
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.domain.payout_queue import State
from finance.domain.reserves import ReserveKind, Scope
from finance.entrypoints.schemas import (
    Assignment,
    EntryDetail,
    EntryState,
    HostSettings,
    PolicyVersion,
    QueuePage,
    ReservePolicies,
)
from finance.entrypoints.staff import READER, Command, IgnoredActor, Reader, or_404
from finance.service_layer import queue_admin
from finance.service_layer.payout_release import Release

router = APIRouter(prefix="/v1/payouts", tags=["payout queue"], dependencies=READER)
Id = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")]
EntryId = Annotated[str, Path(max_length=2 * ID_MAX_LENGTH + 1, pattern=ID_PATTERN)]
ACTION_REFUSALS = refusals(
    r404="No such entry: `entry_not_found`",
    r409="Not from its state, or it changed meanwhile: `illegal_transition`, `entry_changed`",
)
POLICY_REFUSALS = refusals(
    r422="A field is not valid (`validation_failed`), the policy is not "
    "(`invalid_reserve_policy`), or it names none (`unknown_reserve_policy`)"
)


MAX_PAGE = 500  # entries a page of the queue holds at most (the API's and the CLI's limit)


class StaffAction(RequestBody):
    actor: IgnoredActor = None
    note: RequiredNote = Field(examples=["guest complaint under review"])


class HostSettingsIn(RequestBody):
    actor: IgnoredActor = None
    # A JSON number only: `true` would be an hour, `false` no delay at all.
    payout_delay_hours: Annotated[float, Strict()] | None = Field(default=None, ge=0, le=24 * 365)
    risk_tier: Annotated[str, one_line(50)] | None = None

    @model_validator(mode="after")
    def _sets_something(self) -> HostSettingsIn:
        if self.payout_delay_hours is None and self.risk_tier is None:
            raise ValueError("give payout_delay_hours or risk_tier (or both)")
        return self


class PolicyIn(RequestBody):
    policy_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    kind: ReserveKind
    percent_bps: int = Field(default=0, ge=0, le=10_000)
    hold_days: int = Field(default=0, ge=0, le=3650)
    fixed_amount: Amount = 0
    currency: Currency | None = None
    actor: IgnoredActor = None
    note: Note = ""


class AssignmentIn(RequestBody):
    scope: Scope
    scope_key: Annotated[str, one_line(100)] = Field(
        default="", description="Tier or host; '' for platform."
    )
    policy_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    actor: IgnoredActor = None


@router.get("/queue", summary="The payout queue, filtered, in pages")
async def queue(
    call: Reader,
    state: State | None = None,
    host_account_id: Annotated[
        str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    ] = None,
    due_before: BoundedInstant | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=2 * ID_MAX_LENGTH + 1,
            pattern=ID_PATTERN,
            description="`next_cursor` of the page before: the entries after that entry id.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> QueuePage:
    async with call.connect() as conn:
        rows = await queue_admin.page(
            conn,
            state=state.value if state else None,
            host_account_id=host_account_id,
            due_before=due_before,
            currency=currency,
            after=cursor,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = rows[-1]["entry_id"] if more else None
    return QueuePage.model_validate(
        {"entries": [dict(r) for r in rows], "next_cursor": next_cursor}
    )


@router.get(
    "/queue/{entry_id}",
    summary="One entry, its history, reserves and releases",
    responses=refusals(r404="No such entry: `entry_not_found`"),
)
async def entry(call: Reader, entry_id: EntryId) -> EntryDetail:
    async with call.connect() as conn:
        found = await queue_admin.show(conn, entry_id)
    return EntryDetail.model_validate(
        or_404(found, "entry_not_found", f"no payout entry {entry_id}")
    )


def _staff(name: str) -> Callable[..., Awaitable[EntryState]]:
    async def act(call: Command, entry_id: EntryId, body: StaffAction) -> EntryState:
        release: Release = call.state["release"]
        method = getattr(release, name.replace("-", "_"))

        async def work(conn: asyncpg.Connection) -> dict[str, str]:
            state = await method(conn, entry_id, call.actor, body.note)
            return {"entry_id": entry_id, "state": str(state)}

        return await call.run(work, body)

    act.__name__ = f"payout_{name.replace('-', '_')}"
    return act


for _action in ("hold", "unhold", "release-now", "retry"):
    router.post(
        f"/queue/{{entry_id}}/{_action}",
        summary=f"Staff: {_action}",
        response_model=EntryState,
        responses=ACTION_REFUSALS,
    )(_staff(_action))


@router.put("/hosts/{host_account_id}", summary="A host's payout delay and risk tier")
async def host_settings(call: Command, host_account_id: Id, body: HostSettingsIn) -> HostSettings:
    return await call.run(
        lambda conn: queue_admin.set_host(
            conn, host_account_id, call.actor, body.payout_delay_hours, body.risk_tier
        ),
        body,
    )


@router.get("/reserve-policies", summary="Every reserve policy version and assignment")
async def reserve_policies(call: Reader) -> ReservePolicies:
    async with call.connect() as conn:
        return ReservePolicies.model_validate(await queue_admin.policies(conn))


@router.post(
    "/reserve-policies",
    status_code=201,
    summary="A new version of a reserve policy",
    responses=POLICY_REFUSALS,
)
async def create_policy(call: Command, body: PolicyIn) -> PolicyVersion:
    fields = body.model_dump(exclude={"actor", "note"})
    return await call.run(
        lambda conn: queue_admin.new_policy(conn, fields, call.actor, body.note), body
    )


@router.put(
    "/reserve-policies/assignments",
    summary="Apply a policy to the platform, a tier or a host",
    responses=POLICY_REFUSALS,
)
async def assign_policy(call: Command, body: AssignmentIn) -> Assignment:
    return await call.run(
        lambda conn: queue_admin.assign(
            conn, body.scope, body.scope_key, body.policy_id, call.actor
        ),
        body,
    )


def install(app: FastAPI) -> None:
    acting.document(router.routes)  # 400 `acting_for_required` where a change names its actor
    app.include_router(router)
