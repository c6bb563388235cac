"""The finance area of the staff GraphQL schema: the payout queue, reserve policies, daily
closes, reconciliation exceptions (finance and admin; trust is refused), and payments and
refunds (finance, trust and admin). Reads go to finance's and payments' staff APIs with ops's
own service credential; mutations go through `service_layer.finance_ops` (idempotency token,
audit row, finance's error codes in `extensions.code`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import strawberry
from strawberry.types import Info

from eventkit.auth import Role
from ops.domain.errors import check_page, invalid
from ops.entrypoints import graphql_finance_types as f
from ops.entrypoints.graphql_schema import allow
from ops.service_layer import finance_ops
from ops.service_layer.mutations import Caller

FINANCE_ROLES = (Role.ADMIN, Role.FINANCE)
PAYMENT_READERS = (Role.ADMIN, Role.FINANCE, Role.TRUST)
QUEUE_REACH = 500  # finance's page limit: offset + first beyond it needs `after`


def _finance(info: Info) -> finance_ops.FinanceApi:
    api: finance_ops.FinanceApi = info.context["apis"].finance
    return api


@strawberry.type
class FinanceQuery:
    @strawberry.field(description="The payout queue in entry id order, filtered (finance, admin).")
    async def payout_queue(
        self,
        info: Info,
        status: str | None = None,
        host_id: str | None = None,
        currency: str | None = None,
        first: int = 50,
        offset: int = 0,
        after: str | None = None,
    ) -> f.PayoutQueuePage:
        allow(info, *FINANCE_ROLES)
        check_page(first, offset)
        if offset + first >= QUEUE_REACH:
            raise invalid(f"offset + first must stay under {QUEUE_REACH}; page on with after.")
        found = await _finance(info).payout_queue(
            state=status, host_account_id=host_id, currency=currency, cursor=after,
            limit=offset + first + 1,
        )  # fmt: skip
        rows = found["entries"][offset:]
        items = [f.payout_entry(e) for e in rows[:first]]
        more = len(rows) > first or found.get("next_cursor") is not None
        return f.PayoutQueuePage(
            items=items, has_more=more, next_cursor=items[-1].id if more and items else None
        )

    @strawberry.field(description="One payout entry with its history (finance, admin).")
    async def payout_entry(self, info: Info, id: str) -> f.PayoutEntry:
        allow(info, *FINANCE_ROLES)
        return f.payout_entry(await _finance(info).payout_entry(id), full=True)

    @strawberry.field(description="Every reserve policy version and assignment.")
    async def reserve_policies(self, info: Info) -> f.ReservePolicies:
        allow(info, *FINANCE_ROLES)
        return f.reserve_policies(await _finance(info).reserve_policies())

    @strawberry.field(description="Daily closes, newest first (finance, admin).")
    async def daily_closes(self, info: Info, currency: str | None = None) -> list[f.DayClose]:
        allow(info, *FINANCE_ROLES)
        return [f.day_close(c) for c in await _finance(info).closes(currency)]

    @strawberry.field(description="A close's report: tie-outs, blockers, acknowledgements.")
    async def close_report(self, info: Info, business_date: date, currency: str) -> f.CloseReport:
        allow(info, *FINANCE_ROLES)
        return f.close_report(await _finance(info).close_report(business_date, currency))

    @strawberry.field(
        description="Reconciliation exceptions, oldest first (status open, resolved)."
    )
    async def reconciliation_exceptions(
        self, info: Info, status: str | None = "open", first: int = 50, offset: int = 0
    ) -> f.ReconciliationExceptionPage:
        allow(info, *FINANCE_ROLES)
        check_page(first, offset)
        if status not in (None, "open", "resolved"):
            raise invalid("status must be open or resolved.")
        found = await _finance(info).reconciliation_exceptions(
            status=status, limit=offset + first + 1
        )
        rows = found["items"][offset:]
        return f.ReconciliationExceptionPage(
            items=[f.recon_exception(x) for x in rows[:first]], has_more=len(rows) > first
        )

    @strawberry.field(description="A payment by id (finance, trust, admin).")
    async def payment(self, info: Info, id: str) -> f.Payment:
        allow(info, *PAYMENT_READERS)
        return f.payment(await info.context["apis"].payments.payment(id))

    @strawberry.field(description="A booking's (or a group's) payments, oldest first.")
    async def payments(self, info: Info, booking_id: str) -> list[f.Payment]:
        allow(info, *PAYMENT_READERS)
        return [f.payment(p) for p in await info.context["apis"].payments.payments(booking_id)]

    @strawberry.field(description="A payment's or a booking's refunds (give one of the two).")
    async def refunds(
        self, info: Info, payment_id: str | None = None, booking_id: str | None = None
    ) -> list[f.Refund]:
        allow(info, *PAYMENT_READERS)
        if not (payment_id or booking_id):
            raise invalid("Give paymentId or bookingId.")
        found = await info.context["apis"].payments.refunds(
            payment_id=payment_id or None, booking_id=booking_id or None
        )
        return [f.refund(r) for r in found]


async def _act(
    info: Info, token: str, action: Callable[..., Awaitable[dict[str, Any]]], *args: Any, **kw: Any
) -> f.FinanceAction:
    """Run one of finance_ops' actions through finance's API, as the caller (a finance role,
    else refused) under the mutation's token: what it did."""
    caller = Caller(info.context["pool"], allow(info, *FINANCE_ROLES), token)
    return f.action(await action(caller, _finance(info), *args, **kw))


def _payout(verb: str, description: str) -> Any:
    """The mutation that runs one of finance's payout actions (`verb`) on an entry, with a note."""

    async def run(info: Info, idempotency_token: str, entry_id: str, note: str) -> f.FinanceAction:
        return await _act(
            info, idempotency_token, finance_ops.payout_action, verb=verb, entry_id=entry_id,
            note=note,
        )  # fmt: skip

    return strawberry.mutation(resolver=run, description=description)


@strawberry.type
class FinanceMutation:
    hold_payout = _payout("hold", "Hold a payout entry, with a note (finance, admin).")
    release_payout_hold = _payout(
        "unhold", "Remove a hold; with none left the entry is on schedule."
    )
    release_payout_now = _payout("release_now", "Pay a scheduled entry now, before its due time.")
    retry_payout = _payout("retry", "Try a failed transfer again.")

    @strawberry.mutation(description="A new version of a reserve policy (kind rolling_percent, "
                         "fixed or none).")  # fmt: skip
    async def create_reserve_policy(
        self,
        info: Info,
        idempotency_token: str,
        policy_id: str,
        kind: str,
        percent_bps: int = 0,
        hold_days: int = 0,
        fixed_amount: int = 0,
        currency: str | None = None,
        note: str = "",
    ) -> f.FinanceAction:
        fields = {
            "policy_id": policy_id, "kind": kind, "percent_bps": percent_bps,
            "hold_days": hold_days, "fixed_amount": fixed_amount, "currency": currency or None,
            "note": note,
        }  # fmt: skip
        return await _act(info, idempotency_token, finance_ops.create_reserve_policy, fields)

    @strawberry.mutation(description="Apply a policy to the platform, a risk tier or a host.")
    async def assign_reserve_policy(
        self, info: Info, idempotency_token: str, policy_id: str, scope: str, scope_key: str = ""
    ) -> f.FinanceAction:
        return await _act(
            info, idempotency_token, finance_ops.assign_reserve_policy, policy_id=policy_id,
            scope=scope, scope_key=scope_key,
        )  # fmt: skip

    @strawberry.mutation(description="Close a business day (default yesterday), one currency or "
                         "all; a blocked day answers its report with status failed.")  # fmt: skip
    async def run_daily_close(
        self,
        info: Info,
        idempotency_token: str,
        business_date: date | None = None,
        currency: str | None = None,
    ) -> f.FinanceAction:
        return await _act(
            info, idempotency_token, finance_ops.run_close, business_date=business_date,
            currency=currency or None,
        )  # fmt: skip

    @strawberry.mutation(description="Accept a close's difference (its exact amount) or an "
                         "exception (amount 0), with a note, so the day can close.")  # fmt: skip
    async def acknowledge_close_difference(
        self,
        info: Info,
        idempotency_token: str,
        business_date: date,
        currency: str,
        item: str,
        amount: int,
        note: str,
    ) -> f.FinanceAction:
        return await _act(
            info, idempotency_token, finance_ops.acknowledge, business_date=business_date,
            currency=currency, item=item, amount=amount, note=note,
        )  # fmt: skip

    @strawberry.mutation(description="Resolve a reconciliation exception with a note.")
    async def resolve_reconciliation_exception(
        self, info: Info, idempotency_token: str, id: int, note: str
    ) -> f.FinanceAction:
        resolve = finance_ops.resolve_exception
        return await _act(info, idempotency_token, resolve, exception_id=id, note=note)
