"""The finance area's role checks come before anything else: trust is refused every finance
mutation and queue read with `forbidden` (no service is reached), and reads payments."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from eventkit.auth import Principal, Role
from ops.entrypoints.graphql_schema import build_schema

MUTATIONS = {
    "holdPayout": 'entryId: "e", note: "n"',
    "releasePayoutHold": 'entryId: "e", note: "n"',
    "releasePayoutNow": 'entryId: "e", note: "n"',
    "retryPayout": 'entryId: "e", note: "n"',
    "createReservePolicy": 'policyId: "p", kind: "none"',
    "assignReservePolicy": 'policyId: "p", scope: "platform"',
    "runDailyClose": "",
    "acknowledgeCloseDifference": (
        'businessDate: "2026-01-01", currency: "usd", item: "x", amount: 0, note: "n"'
    ),
    "resolveReconciliationException": 'id: 1, note: "n"',
}


async def _codes(query: str, role: Role) -> list[Any]:
    context = {"principal": Principal("tom", role), "token": "", "pool": None, "apis": None}
    result = await build_schema().execute(query, context_value=context)
    return [(e.extensions or {}).get("code") for e in result.errors or ()]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_trust_is_refused_each_finance_mutation(name: str) -> None:
    args = ", ".join(filter(None, ['idempotencyToken: "t"', MUTATIONS[name]]))
    assert await _codes(f"mutation {{ {name}({args}) {{ target }} }}", Role.TRUST) == ["forbidden"]


async def test_trust_is_refused_the_books_but_not_payments() -> None:
    for query in (
        "{ payoutQueue { hasMore } }",
        "{ reservePolicies { policies { policyId } } }",
        "{ dailyCloses { status } }",
        '{ closeReport(businessDate: "2026-01-01", currency: "usd") { status } }',
        "{ reconciliationExceptions { hasMore } }",
    ):
        assert await _codes(query, Role.TRUST) == ["forbidden"], query
    # Past the role check a payments read reaches the payments client (here one in memory).
    payment = {"payment_id": "pay_1", "booking_id": "bk_1", "purpose": "checkout",
               "guest_id": "g", "amount": 100, "platform_fee": 10, "currency": "usd",
               "status": "captured", "captured_amount": 100, "correlation_id": "c"}  # fmt: skip

    class Payments:
        async def payment(self, payment_id: str) -> dict[str, Any]:
            return payment | {"payment_id": payment_id}

    context = {"principal": Principal("tom", Role.TRUST), "token": "", "pool": None,
               "apis": SimpleNamespace(payments=Payments())}  # fmt: skip
    result = await build_schema().execute('{ payment(id: "pay_1") { id amount } }',
                                          context_value=context)  # fmt: skip
    assert result.errors is None and result.data == {"payment": {"id": "pay_1", "amount": 100}}
