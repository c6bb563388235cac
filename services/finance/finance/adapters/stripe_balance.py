"""Stripe's balance, read through the official SDK (`StripeClient`, async over httpx).

Read-only: finance never mutates anything at Stripe, so no idempotency keys here. The API
version is pinned like payments' gateway, so the shapes finance reads cannot move under it.
`InMemoryStripeBalance` serves the same interface from a list, for unit tests and benchmarks.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import stripe

from eventkit import stripe_metrics
from finance.domain.reconciliation import BalanceTransaction

STRIPE_API_VERSION: Final = "2026-10-28.endive"  # payments' pinned version
SIMULATOR_API_KEY: Final = "sk_test_local_simulator"
PAGE: Final = 100  # Stripe's largest page


class StripeBalance(Protocol):
    def list_since(
        self, created_gte: datetime | None, created_lte: datetime | None = None
    ) -> AsyncIterator[BalanceTransaction]:
        """Every balance transaction created at or after `created_gte` (and at or before
        `created_lte`), newest first."""
        ...

    async def balance(self) -> dict[str, dict[str, int]]:
        """Stripe's balance: {currency: {"pending": n, "available": n}}."""
        ...

    async def close(self) -> None:
        """Release the HTTP session (a process that exits without it logs an unclosed one)."""
        ...


def _ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def to_balance_transaction(obj: dict[str, Any]) -> BalanceTransaction:
    """A balance transaction from its JSON shape."""
    source = obj.get("source")
    if isinstance(source, dict):  # expanded
        source = source.get("id")
    created = _ts(obj["created"])
    assert created is not None
    return BalanceTransaction(
        txn_id=obj["id"],
        type=obj["type"],
        source=source,
        amount=obj["amount"],
        fee=obj.get("fee") or 0,
        net=obj["net"],
        currency=obj["currency"],
        status=obj["status"],
        created=created,
        available_on=_ts(obj.get("available_on")),
        reporting_category=obj.get("reporting_category"),
    )


class SdkStripeBalance:
    """The platform account's balance through `stripe.StripeClient`."""

    def __init__(self, api_key: str, api_base: str, *, timeout: float = 30.0) -> None:
        self._http = stripe_metrics.http_client("finance", timeout=timeout)
        self._client = stripe.StripeClient(
            api_key or SIMULATOR_API_KEY,
            base_addresses={"api": api_base},
            stripe_version=STRIPE_API_VERSION,
            http_client=self._http,
            max_network_retries=2,
        )

    async def list_since(
        self, created_gte: datetime | None, created_lte: datetime | None = None
    ) -> AsyncIterator[BalanceTransaction]:
        # The pages are parsed as plain JSON: building a StripeObject per row costs most of the
        # import's time budget (docs/benchmarks.md, "Paging through balance transactions").
        params: dict[str, Any] = {"limit": PAGE}
        created: dict[str, int] = {}
        if created_gte is not None:
            created["gte"] = int(created_gte.timestamp())
        if created_lte is not None:
            created["lte"] = math.ceil(created_lte.timestamp())
        if created:
            params["created"] = created
        while True:
            response = await self._client.raw_request_async(
                "get", "/v1/balance_transactions", **params
            )
            page = json.loads(response.body)
            for obj in page["data"]:
                yield to_balance_transaction(obj)
            if not page["has_more"] or not page["data"]:
                return
            params["starting_after"] = page["data"][-1]["id"]

    async def balance(self) -> dict[str, dict[str, int]]:
        found = (await self._client.v1.balance.retrieve_async()).to_dict()
        totals: dict[str, dict[str, int]] = {}
        for part in ("pending", "available"):
            for entry in found.get(part) or []:
                totals.setdefault(entry["currency"], {"pending": 0, "available": 0})
                totals[entry["currency"]][part] += entry["amount"]
        return totals

    async def close(self) -> None:
        await self._http.close_async()


class InMemoryStripeBalance:
    """Balance transactions kept in a list (newest first on read), and the balance they make."""

    def __init__(self, transactions: Iterable[BalanceTransaction] = ()) -> None:
        self.transactions: dict[str, BalanceTransaction] = {t.txn_id: t for t in transactions}
        self.listed = 0

    def put(self, *transactions: BalanceTransaction) -> None:
        for t in transactions:
            self.transactions[t.txn_id] = t

    async def list_since(
        self, created_gte: datetime | None, created_lte: datetime | None = None
    ) -> AsyncIterator[BalanceTransaction]:
        ordered = sorted(self.transactions.values(), key=lambda t: (t.created, t.txn_id))
        for t in reversed(ordered):
            if created_gte is not None and t.created < created_gte:
                return
            if created_lte is not None and t.created > created_lte:
                continue
            self.listed += 1
            yield t

    async def balance(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = {}
        for t in self.transactions.values():
            entry = totals.setdefault(t.currency, {"pending": 0, "available": 0})
            entry[t.status] += t.net
        return totals

    async def close(self) -> None:
        return None
