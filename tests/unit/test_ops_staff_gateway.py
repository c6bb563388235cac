"""The staff API clients as ops's resolvers hold them: finance, disputes and payments are called with
ops's own `service` token, the gateway with the caller's own token, over one pool."""

from __future__ import annotations

import httpx

from eventkit.auth import DEV_JWT_SECRET, Role, decode_token, issue_token
from ops.adapters.staff_gateway import StaffApis


async def test_finance_gets_the_service_token_and_the_gateway_the_callers() -> None:
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        seen.append((request.url.host + ":" + str(request.url.port), token))
        listed = "policies" in request.url.path or request.url.path == "/v1/refunds"
        return httpx.Response(200, json=[] if listed else {})

    apis = StaffApis.build(
        secret=DEV_JWT_SECRET,
        booking_url="http://127.0.0.1:8000",
        finance_url="http://127.0.0.1:8002",
        disputes_url="http://127.0.0.1:8003",
        payments_url="http://127.0.0.1:8001",
        timeout=2.0,
        transport=httpx.MockTransport(answer),
    )
    staff = issue_token(DEV_JWT_SECRET, "ada", Role.TRUST)
    await apis.finance.trial_balance()
    await apis.disputes.case("dsp_1")
    await apis.booking_as(staff).cancellation_policies()
    await apis.payments.refunds(booking_id="bk_1")
    await apis.aclose()

    (fin_host, fin), (dsp_host, dsp), (bk_host, bk), (pay_host, pay) = seen
    assert pay_host == "127.0.0.1:8001"
    assert decode_token(DEV_JWT_SECRET, pay).role is Role.SERVICE
    assert (fin_host, dsp_host, bk_host) == ("127.0.0.1:8002", "127.0.0.1:8003", "127.0.0.1:8000")
    assert decode_token(DEV_JWT_SECRET, fin).role is Role.SERVICE
    assert decode_token(DEV_JWT_SECRET, dsp).role is Role.SERVICE
    assert bk == staff
