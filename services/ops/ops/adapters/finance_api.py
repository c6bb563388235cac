"""Finance's staff API (port 8002) as ops acts through it: the payout queue, host settings,
reserve policies, the daily close, reconciliation and the books (docs/finance.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ops.adapters.staff_apis import Json, StaffApi, plain, seg


class FinanceApi(StaffApi):
    """Finance's staff API (port 8002): roles finance, admin, service."""

    service = "finance"

    async def payout_queue(self, **filters: str | int | datetime | None) -> Json:
        """`GET /v1/payouts/queue` (`state`, `host_account_id`, `due_before`, `currency`,
        `cursor`, `limit` 50): `{"entries": [...], "next_cursor"}` in entry id order."""
        return await self._page("/v1/payouts/queue", filters, limit=50)

    async def payout_entry(self, entry_id: str) -> Json:
        """One entry with its history, reserves, releases and dispute recoveries."""
        return await self._doc("GET", f"/v1/payouts/queue/{seg(entry_id)}")

    async def _payout_action(self, action: str, entry_id: str, note: str, acting_for: str) -> Json:
        path = f"/v1/payouts/queue/{seg(entry_id)}/{seg(action)}"
        return await self._doc("POST", path, acting_for=acting_for, json={"note": note})

    async def hold(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("hold", entry_id, note, acting_for)

    async def unhold(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("unhold", entry_id, note, acting_for)

    async def release_now(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("release-now", entry_id, note, acting_for)

    async def retry(self, entry_id: str, note: str, *, acting_for: str) -> Json:
        return await self._payout_action("retry", entry_id, note, acting_for)

    async def set_host(
        self,
        host_account_id: str,
        *,
        acting_for: str,
        payout_delay_hours: float | None = None,
        risk_tier: str | None = None,
    ) -> Json:
        body: dict[str, Any] = {"payout_delay_hours": payout_delay_hours, "risk_tier": risk_tier}
        path = f"/v1/payouts/hosts/{seg(host_account_id)}"
        return await self._doc("PUT", path, acting_for=acting_for, json=body)

    async def reserve_policies(self) -> Json:
        """Every policy version and assignment."""
        return await self._doc("GET", "/v1/payouts/reserve-policies")

    async def create_reserve_policy(
        self,
        policy_id: str,
        kind: Literal["rolling_percent", "fixed", "none"],
        *,
        acting_for: str,
        percent_bps: int = 0,
        hold_days: int = 0,
        fixed_amount: int = 0,
        currency: str | None = None,
        note: str = "",
    ) -> Json:
        """A new version of `policy_id`."""
        body: dict[str, Any] = {"policy_id": policy_id, "kind": kind, "percent_bps": percent_bps}
        body |= {"hold_days": hold_days, "fixed_amount": fixed_amount, "currency": currency}
        path = "/v1/payouts/reserve-policies"
        return await self._doc("POST", path, acting_for=acting_for, json=body | {"note": note})

    async def assign_reserve_policy(
        self,
        policy_id: str,
        scope: Literal["platform", "tier", "host"],
        *,
        acting_for: str,
        scope_key: str = "",
    ) -> Json:
        body = {"policy_id": policy_id, "scope": scope, "scope_key": scope_key}
        path = "/v1/payouts/reserve-policies/assignments"
        return await self._doc("PUT", path, acting_for=acting_for, json=body)

    async def run_close(
        self, *, acting_for: str, business_date: date | None = None, currency: str | None = None
    ) -> list[Json]:
        """Close a business day (default yesterday), every currency unless one is given: the
        closes' reports. 409 `close_*` codes when the day cannot be closed yet."""
        body = {"business_date": plain(business_date), "currency": currency}
        found = await self._doc("POST", "/v1/closes", acting_for=acting_for, json=body)
        closes: list[Json] = found["closes"]
        return closes

    async def closes(self, currency: str | None = None) -> list[Json]:
        return await self._list("GET", "/v1/closes", params={"currency": currency})

    async def close_report(self, business_date: date, currency: str) -> Json:
        return await self._doc("GET", f"/v1/closes/{seg(business_date)}/{seg(currency)}")

    async def close_report_csv(self, business_date: date, currency: str) -> str:
        path = f"/v1/closes/{seg(business_date)}/{seg(currency)}"
        return (await self._call("GET", path, params={"format": "csv"})).text

    async def acknowledge(
        self,
        business_date: date,
        currency: str,
        *,
        item: str,
        amount: int,
        note: str,
        acting_for: str,
    ) -> Json:
        """Acknowledge a known difference (`amount`, minor units) or exception (0)."""
        path = f"/v1/closes/{seg(business_date)}/{seg(currency)}/acknowledgements"
        body = {"item": item, "amount": amount, "note": note}
        return await self._doc("POST", path, acting_for=acting_for, json=body)

    async def run_reconciliation(self, *, acting_for: str) -> Json:
        return await self._doc("POST", "/v1/reconciliation/runs", acting_for=acting_for)

    async def reconciliation_exceptions(self, **filters: str | int | None) -> Json:
        """`GET /v1/reconciliation/exceptions` (`status` open, resolved or None: both; `kind`,
        `currency`, `after` 0, `limit` 100): `{"items": [...], "next_after"}`, oldest first."""
        path = "/v1/reconciliation/exceptions"
        return await self._page(path, filters, status="open", after=0, limit=100)

    async def resolve_exception(self, exception_id: int, note: str, *, acting_for: str) -> Json:
        path = f"/v1/reconciliation/exceptions/{seg(exception_id)}/resolve"
        return await self._doc("POST", path, acting_for=acting_for, json={"note": note})

    async def trial_balance(self) -> Json:
        return await self._doc("GET", "/v1/ledger/trial-balance")

    async def booking_journals(self, booking_id: str) -> list[Json]:
        return await self._list("GET", f"/v1/ledger/bookings/{seg(booking_id)}")

    async def dispute_books(self, dispute_id: str) -> Json:
        return await self._doc("GET", f"/v1/ledger/disputes/{seg(dispute_id)}")

    async def payables(self, booking_id: str) -> Json:
        params: dict[str, Any] = {"booking_id": booking_id}
        return await self._doc("GET", "/v1/payables", params=params)
