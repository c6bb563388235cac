"""stripesim: automatic daily payouts of the available balance, their arrival and failure,
manual payouts, the settings, and balance state across a restart and a reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.resources.payouts import next_time
from stripesim.testkit import AUTH, error, event_types, get, ok, paid_intent, post

DAYS = 24 * 60 * 60
NOON = 12 * 3600


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    """Automatic payouts at noon UTC (sim clock), funds available 2 days after a charge."""
    transport = httpx.ASGITransport(app=create_app(payout_time=NOON))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def advance_to(api: httpx.AsyncClient, when: int) -> dict[str, Any]:
    now = (await api.get("/_sim/clock")).json()["now"]
    return ok(await api.post("/_sim/clock/advance", json={"seconds": max(0, when - now)}))


async def transactions(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    return list((await get(api, "/v1/balance_transactions", limit=100, **params))["data"])


async def available(api: httpx.AsyncClient) -> int:
    return sum(a["amount"] for a in (await get(api, "/v1/balance"))["available"])


async def test_the_available_balance_is_paid_out_at_the_daily_time_and_arrives_a_day_later(
    api: httpx.AsyncClient,
) -> None:
    pi = await paid_intent(api, 10_000)
    refund = ok(await post(api, "/v1/refunds", {"payment_intent": pi["id"], "amount": 1_000}))
    [charge_bt] = await transactions(api, type="charge")
    payout_at = next_time(charge_bt["available_on"] - 1, NOON)
    # One call moves the clock past the funds' availability, the payout time and the arrival:
    # the timers go day by day, so the payout is made at its time, of what was available then.
    done = await advance_to(api, payout_at + DAYS + 60)
    [payout_id] = done["payouts"]
    assert done["arrived"] == [payout_id]
    payout = await get(api, f"/v1/payouts/{payout_id}", expand=["balance_transaction"])
    assert payout["object"] == "payout" and payout["automatic"] is True
    assert (payout["amount"], payout["currency"], payout["status"]) == (
        10_000 - 320 - 1_000,
        "usd",
        "paid",
    )
    assert (payout["created"], payout["arrival_date"]) == (payout_at, payout_at + DAYS)
    bt = payout["balance_transaction"]
    assert (bt["type"], bt["reporting_category"], bt["amount"], bt["net"], bt["created"]) == (
        "payout",
        "payout",
        -8_680,
        -8_680,
        payout_at,
    )
    paid_out = {t["source"] for t in await transactions(api, payout=payout_id)}
    assert paid_out == {pi["latest_charge"], refund["id"], payout_id}
    assert await available(api) == 0
    types = await event_types(api, balance=True)
    assert types.index("payout.created") < types.index("payout.paid")
    assert (await get(api, "/v1/payouts"))["data"][0]["id"] == payout_id
    window = {"created": {"gte": payout_at}, "arrival_date": {"lte": payout_at + DAYS}}
    assert [p["id"] for p in (await get(api, "/v1/payouts", **window))["data"]] == [payout_id]
    assert (await get(api, "/v1/payouts", created={"gt": payout_at}))["data"] == []
    assert (await get(api, "/v1/payouts", status="failed"))["data"] == []


async def test_no_payout_without_money_and_one_per_day_with_money(api: httpx.AsyncClient) -> None:
    await paid_intent(api, 5_000)
    first_day = next_time((await api.get("/_sim/clock")).json()["now"], NOON)
    done = await advance_to(api, first_day)
    assert done["payouts"] == []  # nothing available yet (2 days)
    done = await advance_to(api, first_day + 5 * DAYS)
    assert len(done["payouts"]) == 1
    await paid_intent(api, 6_000)
    done = await advance_to(api, first_day + 8 * DAYS)
    [second] = done["payouts"]
    assert (await get(api, f"/v1/payouts/{second}"))["amount"] == 6_000 - 204
    listed = (await get(api, "/v1/payouts", limit=1))["data"]
    assert [p["id"] for p in listed] == [second]
    paid = (await get(api, "/v1/payouts", status="paid"))["data"]
    assert len(paid) == 2


async def test_a_failed_payout_gives_the_money_back_and_the_next_payout_takes_it(
    api: httpx.AsyncClient,
) -> None:
    assert ok(await api.post("/_sim/payouts/fail_next", json={"failure_code": "no_account"}))[
        "data"
    ] == ["no_account"]
    await paid_intent(api, 10_000)
    [charge_bt] = await transactions(api, type="charge")
    payout_at = next_time(charge_bt["available_on"] - 1, NOON)
    done = await advance_to(api, payout_at + DAYS - 1)
    [failed_id] = done["payouts"]
    # It fails when it reaches the bank, a day later: the next daily payout takes the money.
    done = await advance_to(api, payout_at + DAYS)
    assert done["arrived"] == [failed_id]
    [retry] = done["payouts"]
    failed = await get(api, f"/v1/payouts/{failed_id}", expand=["failure_balance_transaction"])
    assert (failed["status"], failed["failure_code"]) == ("failed", "no_account")
    assert failed["failure_message"].startswith("The bank account details on file")
    back = failed["failure_balance_transaction"]
    assert (back["type"], back["reporting_category"], back["amount"], back["source"]) == (
        "payout_failure",
        "payout_reversal",
        9_680,
        failed_id,
    )
    types = await event_types(api, balance=True)
    assert types.index("payout.failed") < len(types) - 1 - types[::-1].index("payout.created")
    assert ok(await api.get("/_sim/payouts/fail_next"))["data"] == []
    assert (await get(api, f"/v1/payouts/{retry}"))["amount"] == 9_680
    assert await available(api) == 0
    assert {t["id"] for t in await transactions(api, payout=retry)} >= {back["id"]}


async def test_manual_payouts_and_automatic_payouts_turned_off() -> None:
    transport = httpx.ASGITransport(app=create_app(automatic_payouts=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        await paid_intent(api, 10_000)
        done = ok(await api.post("/_sim/clock/advance", json={"seconds": 10 * DAYS}))
        assert done["payouts"] == [] and await available(api) == 9_680
        too_much = await post(api, "/v1/payouts", {"amount": 9_681, "currency": "usd"})
        assert (error(too_much, 400)["code"]) == "balance_insufficient"
        payout = ok(
            await post(
                api, "/v1/payouts", {"amount": 9_000, "currency": "usd", "metadata": {"k": "v"}}
            )
        )
        assert (payout["automatic"], payout["status"], payout["metadata"]) == (
            False,
            "pending",
            {"k": "v"},
        )
        assert await available(api) == 680
        ok(await api.post("/_sim/clock/advance", json={"seconds": DAYS}))
        assert (await get(api, f"/v1/payouts/{payout['id']}"))["status"] == "paid"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPESIM_AUTOMATIC_PAYOUTS", "false")
    monkeypatch.setenv("STRIPESIM_PAYOUT_TIME", "06:30")
    monkeypatch.setenv("STRIPESIM_PAYOUT_ARRIVAL_SECONDS", "7200")
    monkeypatch.setenv("STRIPESIM_AVAILABLE_DELAY_SECONDS", "60")
    state = create_app().state.sim
    assert (state.automatic_payouts, state.payout_time) == (False, 6 * 3600 + 30 * 60)
    assert (state.payout_arrival_seconds, state.available_delay_seconds) == (7_200, 60)


def _client_paid(client: TestClient, amount: int) -> dict[str, Any]:
    data = {"amount": str(amount), "currency": "usd", "payment_method": "pm_card_visa"}
    response = client.post("/v1/payment_intents", headers=AUTH, data={**data, "confirm": "true"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_balance_transactions_and_payouts_survive_a_restart_and_go_on_reset(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "sim.sqlite3"
    app = create_app(state_file=state_file, payout_time=NOON)
    with TestClient(app) as client:
        _client_paid(client, 10_000)
        client.post("/_sim/clock/advance", json={"seconds": 3 * DAYS})
        _client_paid(client, 4_000)  # still pending at the restart
        before = client.get("/v1/balance_transactions", headers=AUTH).json()["data"]
        payouts_before = client.get("/v1/payouts", headers=AUTH).json()["data"]
        balance_before = client.get("/v1/balance", headers=AUTH).json()
    assert [p["amount"] for p in payouts_before] == [9_680]
    with TestClient(create_app(state_file=state_file, payout_time=NOON)) as client:
        assert client.get("/v1/balance_transactions", headers=AUTH).json()["data"] == before
        assert client.get("/v1/payouts", headers=AUTH).json()["data"] == payouts_before
        assert client.get("/v1/balance", headers=AUTH).json() == balance_before
        done = client.post("/_sim/clock/advance", json={"seconds": 3 * DAYS}).json()
        assert len(done["available"]) == 1 and len(done["payouts"]) == 1
        [newest] = client.get("/v1/payouts", headers=AUTH, params={"limit": 1}).json()["data"]
        assert newest["amount"] == 4_000 - 146  # only what no payout took before the restart
        client.post("/_sim/reset")
        assert client.get("/v1/balance_transactions", headers=AUTH).json()["data"] == []
        assert client.get("/v1/payouts", headers=AUTH).json()["data"] == []
        balance = client.get("/v1/balance", headers=AUTH).json()
        assert (balance["available"], balance["pending"]) == ([], [])


async def test_a_clock_jump_dates_what_fell_due_when_it_did(api: httpx.AsyncClient) -> None:
    """A bank debit settles 4 days after it was submitted, its funds are available 2 days
    later and the next daily payout takes them: one clock move of 10 days does all of it,
    each dated when it happened."""
    pm = ok(
        await post(
            api,
            "/v1/payment_methods",
            {
                "type": "us_bank_account",
                "us_bank_account": {
                    "account_number": "000123456789",
                    "routing_number": "110000000",
                    "account_holder_type": "individual",
                },
                "billing_details": {"name": "Jenny Rosen"},
            },
        )
    )
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 50_000,
                "currency": "usd",
                "payment_method": pm["id"],
                "payment_method_types": ["us_bank_account"],
                "confirm": True,
                "mandate_data": {"customer_acceptance": {"type": "offline"}},
            },
        )
    )
    settled_at = pi["created"] + 4 * DAYS
    done = await advance_to(api, settled_at + 10 * DAYS)
    assert done["settled"] == [pi["id"]]
    [bt] = await transactions(api, type="payment")
    assert (bt["created"], bt["available_on"], bt["status"]) == (
        settled_at,
        settled_at + 2 * DAYS,
        "available",
    )
    succeeded = (await get(api, "/v1/events", type="payment_intent.succeeded"))["data"][0]
    assert succeeded["created"] == settled_at
    payout_at = next_time(settled_at + 2 * DAYS - 1, NOON)
    [payout] = (await get(api, "/v1/payouts"))["data"]
    assert (payout["created"], payout["amount"], payout["status"]) == (
        payout_at,
        50_000 - 400,
        "paid",
    )
