"""Finance staff's mutations through finance's API: each reads its target first (the audit's
`before`), acts as the staff member (`acting_for`, recorded by finance as `<person> via
service:ops`), reads it again (`after`) and runs under `mutations.once` (idempotency token,
audit row). A refusal of finance's arrives as its ApiError with finance's code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from ops.adapters.finance_api import FinanceApi
from ops.adapters.staff_apis import ApiError, Json
from ops.domain.errors import invalid
from ops.service_layer.mutations import Caller, Outcome

Read = Callable[[], Awaitable[dict[str, Any] | None]]
PAYOUT_ACTIONS = {
    "hold": "hold",
    "unhold": "unhold",
    "release_now": "release_now",
    "retry": "retry",
}


async def _mutate(
    caller: Caller,
    *,
    action: str,
    target: str,
    request: dict[str, Any],
    read: Read,
    do: Callable[[], Awaitable[Any]],
) -> dict[str, Any]:
    async def act() -> Outcome:
        before = await read()
        answer = await do()
        try:
            after = await read()
        except ApiError as exc:
            # Finance acted: the token must keep its result (a retry would act twice), so a
            # failed read-back is recorded as such rather than raised.
            after = {"unread": exc.code}
        state = (after or {}).get("state") or (after or {}).get("status")
        result = {"action": action, "target": target, "state": state, "result": answer}
        return Outcome(result, before=before, after=after)

    return await caller.once(action=action, target=target, request=request, act=act)


def _note(note: str) -> str:
    if not note.strip():
        raise invalid("A note saying why is required.")
    return note.strip()


async def payout_action(
    caller: Caller,
    api: FinanceApi,
    *,
    verb: str,
    entry_id: str,
    note: str,
) -> dict[str, Any]:
    """hold, unhold (release a hold), release_now or retry one payout entry."""
    note = _note(note)
    method = getattr(api, PAYOUT_ACTIONS[verb])

    async def read() -> dict[str, Any]:
        entry = await api.payout_entry(entry_id)
        return {"state": entry["state"], "holds": entry.get("holds") or []}

    return await _mutate(
        caller, action=f"payout.{verb}", target=f"payout:{entry_id}",
        request={"entry_id": entry_id, "note": note}, read=read,
        do=lambda: method(entry_id, note, acting_for=caller.principal.actor),
    )  # fmt: skip


async def create_reserve_policy(
    caller: Caller, api: FinanceApi, fields: dict[str, Any]
) -> dict[str, Any]:
    """A new version of a policy; `before` is its latest version (None for a new policy)."""
    policy_id = fields["policy_id"]

    async def read() -> dict[str, Any] | None:
        versions = [p for p in (await api.reserve_policies())["policies"]
                    if p["policy_id"] == policy_id]  # fmt: skip
        return max(versions, key=lambda p: p["version"]) if versions else None

    rest = {k: v for k, v in fields.items() if k != "policy_id"}
    return await _mutate(
        caller, action="reserve_policy.create",
        target=f"reserve_policy:{policy_id}", request=fields, read=read,
        do=lambda: api.create_reserve_policy(policy_id, acting_for=caller.principal.actor, **rest),
    )  # fmt: skip


async def assign_reserve_policy(
    caller: Caller,
    api: FinanceApi,
    *,
    policy_id: str,
    scope: str,
    scope_key: str,
) -> dict[str, Any]:
    if scope not in ("platform", "tier", "host"):
        raise invalid("scope must be platform, tier or host.")
    key = "" if scope == "platform" else scope_key

    async def read() -> dict[str, Any] | None:
        found = (await api.reserve_policies())["assignments"]
        return next((a for a in found if (a["scope"], a["scope_key"]) == (scope, key)), None)

    return await _mutate(
        caller, action="reserve_policy.assign",
        target=f"reserve_assignment:{scope}:{key}",
        request={"policy_id": policy_id, "scope": scope, "scope_key": key}, read=read,
        do=lambda: api.assign_reserve_policy(
            policy_id, scope,  # type: ignore[arg-type]
            scope_key=key, acting_for=caller.principal.actor,
        ),
    )  # fmt: skip


async def _close_state(api: FinanceApi, day: date | None, currency: str | None) -> Json:
    closes = await api.closes(currency)
    return {
        f"{c['business_date']}:{c['currency']}": c["status"]
        for c in closes
        if day is None or c["business_date"] == day.isoformat()
    }


async def run_close(
    caller: Caller,
    api: FinanceApi,
    *,
    business_date: date | None,
    currency: str | None,
) -> dict[str, Any]:
    """Close a day (default yesterday; every currency unless one is given)."""
    target = f"close:{business_date or 'yesterday'}:{currency or 'all'}"

    async def read() -> dict[str, Any]:
        return {"closes": await _close_state(api, business_date, currency)}

    async def do() -> list[Json]:
        return await api.run_close(
            acting_for=caller.principal.actor, business_date=business_date, currency=currency
        )

    return await _mutate(
        caller, action="close.run", target=target,
        request={"business_date": str(business_date or ""), "currency": currency or ""},
        read=read, do=do,
    )  # fmt: skip


async def acknowledge(
    caller: Caller,
    api: FinanceApi,
    *,
    business_date: date,
    currency: str,
    item: str,
    amount: int,
    note: str,
) -> dict[str, Any]:
    """Accept a close's difference (its exact amount) or an exception (0), with a note."""
    note = _note(note)

    async def read() -> dict[str, Any] | None:
        try:
            report = await api.close_report(business_date, currency)
        except ApiError as exc:
            if exc.code == "close_not_found":
                return None
            raise
        return {"status": report.get("status"), "acknowledged": report.get("acknowledged", [])}

    return await _mutate(
        caller, action="close.acknowledge",
        target=f"close:{business_date}:{currency}:{item}",
        request={"business_date": str(business_date), "currency": currency, "item": item,
                 "amount": amount, "note": note},
        read=read,
        do=lambda: api.acknowledge(
            business_date, currency, item=item, amount=amount, note=note,
            acting_for=caller.principal.actor,
        ),
    )  # fmt: skip


async def find_exception(api: FinanceApi, exception_id: int) -> Json | None:
    """One exception by id (the list's cursor is the id before it)."""
    page = await api.reconciliation_exceptions(status=None, after=exception_id - 1, limit=1)
    found = [x for x in page["items"] if x["exception_id"] == exception_id]
    return found[0] if found else None


async def resolve_exception(
    caller: Caller,
    api: FinanceApi,
    *,
    exception_id: int,
    note: str,
) -> dict[str, Any]:
    note = _note(note)

    async def read() -> dict[str, Any] | None:
        found = await find_exception(api, exception_id)
        if found is None:
            return None
        return {k: found.get(k) for k in ("status", "resolved_by", "note")}

    return await _mutate(
        caller, action="reconciliation_exception.resolve",
        target=f"reconciliation_exception:{exception_id}",
        request={"exception_id": exception_id, "note": note}, read=read,
        do=lambda: api.resolve_exception(exception_id, note, acting_for=caller.principal.actor),
    )  # fmt: skip
