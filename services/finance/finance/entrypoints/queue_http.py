"""Finance staff's HTTP surface of the payout queue, host payout settings and reserve
policies (internal port, like the ledger routes). Callers need a finance, admin or service
token; a change is recorded against the token's person (eventkit.acting), a body `actor` is
accepted and ignored. Errors use the project's error body: 404
`entry_not_found`, 409 `illegal_transition` / `entry_changed`, 422 `validation_failed` /
`invalid_reserve_policy` / `unknown_reserve_policy`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from domainkit.transitions import IllegalTransition
from eventkit import acting
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from finance.domain.payout_queue import StaleEntry, State
from finance.domain.payouts import PayoutRefused
from finance.domain.reserves import InvalidPolicy, ReserveKind, Scope
from finance.entrypoints.staff_auth import READER, Actor, IgnoredActor
from finance.service_layer import queue_admin
from finance.service_layer.payout_release import Release

router = APIRouter(prefix="/v1/payouts", tags=["payout queue"], dependencies=READER)
Id = Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$")]
EntryId = Annotated[str, Path(max_length=2 * ID_MAX_LENGTH + 1, pattern=ID_PATTERN)]


class StaffAction(BaseModel):
    actor: IgnoredActor = None
    note: str = Field(min_length=1, max_length=2000, examples=["guest complaint under review"])


class HostSettingsIn(BaseModel):
    actor: IgnoredActor = None
    payout_delay_hours: float | None = Field(default=None, ge=0, le=24 * 365)
    risk_tier: str | None = Field(default=None, max_length=50)


class PolicyIn(BaseModel):
    policy_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    kind: ReserveKind
    percent_bps: int = Field(default=0, ge=0, le=10_000)
    hold_days: int = Field(default=0, ge=0, le=3650)
    fixed_amount: int = Field(default=0, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[a-z]{3}$")
    actor: IgnoredActor = None
    note: str = Field(default="", max_length=2000)


class AssignmentIn(BaseModel):
    scope: Scope
    scope_key: str = Field(default="", max_length=100, description="Tier or host; '' for platform.")
    policy_id: str = Field(min_length=1, max_length=100)
    actor: IgnoredActor = None


def _db(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.db


def _release(request: Request) -> Release:
    return request.app.state.runtime.state["release"]


def _refused(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message})


async def _act(request: Request, action: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    try:
        async with _db(request).acquire() as conn, conn.transaction():
            return await action(conn)
    except IllegalTransition as exc:
        raise _refused(409, exc.code, str(exc)) from exc
    except StaleEntry as exc:
        raise _refused(409, "entry_changed", str(exc)) from exc
    except PayoutRefused as exc:
        status = 404 if exc.code == "entry_not_found" else 409
        raise _refused(status, exc.code, exc.message) from exc
    except InvalidPolicy as exc:
        raise _refused(422, exc.code, str(exc)) from exc
    except LookupError as exc:
        raise _refused(422, "unknown_reserve_policy", str(exc)) from exc


@router.get("/queue", summary="The payout queue, filtered, in pages")
async def queue(
    request: Request,
    state: State | None = None,
    host_account_id: Annotated[
        str | None, Query(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    ] = None,
    due_before: datetime | None = None,
    currency: Annotated[str | None, Query(pattern=r"^[a-z]{3}$")] = None,
    cursor: Annotated[str | None, Query(max_length=2 * ID_MAX_LENGTH + 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    rows = await queue_admin.page(
        _db(request),
        state=state.value if state else None,
        host_account_id=host_account_id,
        due_before=due_before,
        currency=currency,
        after=cursor,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "entries": [queue_admin.plain(r) for r in rows],
        "next_cursor": rows[-1]["entry_id"] if more else None,
    }


@router.get("/queue/{entry_id}", summary="One entry, its history, reserves and releases")
async def entry(request: Request, entry_id: EntryId) -> dict[str, Any]:
    found = await queue_admin.show(_db(request), entry_id)
    if found is None:
        raise _refused(404, "entry_not_found", f"no payout entry {entry_id}")
    return found


def _staff(name: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def act(
        request: Request, entry_id: EntryId, body: StaffAction, actor: Actor
    ) -> dict[str, Any]:
        method = getattr(_release(request), name.replace("-", "_"))
        state = await _act(request, lambda conn: method(conn, entry_id, actor, body.note))
        return {"entry_id": entry_id, "state": str(state)}

    act.__name__ = f"payout_{name.replace('-', '_')}"
    return act


for _action in ("hold", "unhold", "release-now", "retry"):
    router.post(f"/queue/{{entry_id}}/{_action}", summary=f"Staff: {_action}")(_staff(_action))


@router.put("/hosts/{host_account_id}", summary="A host's payout delay and risk tier")
async def host_settings(
    request: Request, host_account_id: Id, body: HostSettingsIn, actor: Actor
) -> dict:
    return await _act(
        request,
        lambda conn: queue_admin.set_host(
            conn, host_account_id, actor, body.payout_delay_hours, body.risk_tier
        ),
    )


@router.get("/reserve-policies", summary="Every reserve policy version and assignment")
async def reserve_policies(request: Request) -> dict[str, Any]:
    return await queue_admin.policies(_db(request))


@router.post("/reserve-policies", status_code=201, summary="A new version of a reserve policy")
async def create_policy(request: Request, body: PolicyIn, actor: Actor) -> dict[str, Any]:
    fields = body.model_dump(exclude={"actor", "note"})
    return await _act(request, lambda conn: queue_admin.new_policy(conn, fields, actor, body.note))


@router.put(
    "/reserve-policies/assignments", summary="Apply a policy to the platform, a tier or a host"
)
async def assign_policy(request: Request, body: AssignmentIn, actor: Actor) -> dict[str, Any]:
    return await _act(
        request,
        lambda conn: queue_admin.assign(conn, body.scope, body.scope_key, body.policy_id, actor),
    )


def install(app: FastAPI) -> None:
    acting.document(router.routes)  # 400 `acting_for_required` where a change names its actor
    app.include_router(router)
