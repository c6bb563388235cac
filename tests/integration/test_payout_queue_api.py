"""Finance staff's surface of the queue: REST (list with filters and cursor, one entry with its
history, hold / unhold / release now / retry with the project's error body) and the same
actions from `python -m finance payouts …` and `python -m finance reserves …`; reserves split
a payable under the host's policy version and are released by the scheduler."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from eventkit.auth import DEV_JWT_SECRET, issue_token, service_token
from tests.support.finance_queue import (
    DAY,
    START,
    QueueHarness,
    bearer,
    entry_id,
    finance_api,
    finance_env,
    finance_pool,
)

pytestmark = pytest.mark.integration
# The body's actor is accepted for compatibility and ignored: the token says who acts.
STAFF = {"actor": "someone-else", "note": "checking a complaint"}


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    async with finance_pool() as pool:
        yield pool


@pytest.fixture
async def q(pool: asyncpg.Pool) -> AsyncIterator[QueueHarness]:
    harness = QueueHarness(pool)
    yield harness
    await harness.close()


@pytest.fixture
async def api(pool: asyncpg.Pool, q: QueueHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with finance_api(pool, q) as client:
        yield client


def finance_cli(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=finance_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_queue_lists_by_filter_in_pages_and_shows_an_entrys_history(
    q: QueueHarness, api: httpx.AsyncClient
) -> None:
    bookings = [q.booking() for _ in range(3)]
    for checkout, captured in bookings:
        await q.deliver(checkout, captured)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"host_account_id": q.host, "state": "scheduled", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/payouts/queue", params=params)).json()
        seen += [e["entry_id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(entry_id(c) for _, c in bookings)
    later = await api.get(
        "/v1/payouts/queue",
        params={"host_account_id": q.host, "due_before": START.isoformat(), "currency": "usd"},
    )
    assert later.json()["entries"] == []  # all due a day after the start

    one = entry_id(bookings[0][1])
    held = await api.post(f"/v1/payouts/queue/{one}/hold", json=STAFF)
    assert held.json() == {"entry_id": one, "state": "held"}
    again = await api.post(f"/v1/payouts/queue/{one}/release-now", json=STAFF)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "illegal_transition"
    assert (await api.post(f"/v1/payouts/queue/{one}/unhold", json=STAFF)).status_code == 200
    released = await api.post(f"/v1/payouts/queue/{one}/release-now", json=STAFF)
    assert released.json()["state"] == "released"  # before its due time: staff asked
    shown = (await api.get(f"/v1/payouts/queue/{one}")).json()
    assert [(h["trigger"], h["actor"], h["note"]) for h in shown["history"]] == [
        ("enqueue", "finance", ""),
        ("hold", "ops@example.com", "checking a complaint"),
        ("unhold", "ops@example.com", "checking a complaint"),
        ("release", "ops@example.com", "checking a complaint"),
    ]
    assert [r["amount"] for r in shown["releases"]] == [8_500]


async def test_only_finance_admin_and_services_acting_for_someone_reach_the_queue(
    q: QueueHarness, api: httpx.AsyncClient
) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    one = entry_id(captured)
    hold = f"/v1/payouts/queue/{one}/hold"

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    anonymous = await api.get("/v1/payouts/queue", headers={"Authorization": ""})
    assert code(anonymous) == (401, "unauthenticated")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forged = {"Authorization": "Bearer " + issue_token("x" * 40, "ops@example.com", "finance")}
    assert code(await api.post(hold, json=STAFF, headers=forged)) == (401, "unauthenticated")
    for role in ("guest", "host", "trust"):
        refused = await api.post(hold, json=STAFF, headers=bearer(role))
        assert code(refused) == (403, "forbidden")
    assert (await api.get(f"/v1/payouts/queue/{one}", headers=bearer("admin"))).status_code == 200
    service = {"Authorization": f"Bearer {service_token(DEV_JWT_SECRET, 'ops')}"}
    assert (await api.get(f"/v1/payouts/queue/{one}", headers=service)).status_code == 200
    nobody = await api.post(hold, json=STAFF, headers=service)
    assert code(nobody) == (400, "acting_for_required")
    acting = {**service, "X-Acting-For": "alice@example.com"}
    assert (await api.post(hold, json=STAFF, headers=acting)).json()["state"] == "held"
    shown = (await api.get(f"/v1/payouts/queue/{one}")).json()
    assert [(h["trigger"], h["actor"]) for h in shown["history"]][-1] == (
        "hold",
        "alice@example.com via service:ops",
    )


async def test_staff_errors_carry_codes(q: QueueHarness, api: httpx.AsyncClient) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    one = entry_id(captured)
    retry = await api.post(f"/v1/payouts/queue/{one}/retry", json=STAFF)
    assert (retry.status_code, retry.json()["error"]["code"]) == (409, "illegal_transition")
    no_note = await api.post(f"/v1/payouts/queue/{one}/hold", json={"actor": "ops"})
    assert (no_note.status_code, no_note.json()["error"]["code"]) == (422, "validation_failed")
    missing = await api.get("/v1/payouts/queue/pay_nope:bk_nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "entry_not_found")
    bad = await api.post(
        "/v1/payouts/reserve-policies",
        json={"policy_id": "bad", "kind": "rolling_percent", "hold_days": 5, "actor": "ops"},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_reserve_policy")


async def test_a_body_field_finance_does_not_know_is_refused_not_ignored(
    api: httpx.AsyncClient,
) -> None:
    """A misspelt field must not leave its default to act: refused, the field named."""
    for path, body in (
        ("/v1/payouts/hosts/acct_typo", {"payout_delay_seconds": 5}),
        ("/v1/closes", {"bussiness_date": "2026-12-01"}),
        ("/v1/closes", {"business_date": "2026-12-01", "dry_run": True}),
    ):
        answer = await (api.put if "hosts" in path else api.post)(path, json=body)
        error = answer.json()["error"]
        assert (answer.status_code, error["code"]) == (422, "validation_failed"), answer.text
        named = {str(d["loc"][-1]) for d in error["details"]}
        assert set(body) - {"business_date"} <= named, error
    nothing = await api.put("/v1/payouts/hosts/acct_typo", json={})
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (422, "validation_failed")


def test_the_commands_refuse_what_the_api_refuses_with_one_line_and_exit_2() -> None:
    """Refused before any database is asked: exit 2, a last line naming the option, no
    traceback."""
    finance = [sys.executable, "-m", "finance"]
    for args in (
        ["payouts", "list", "--limit", "99999999999999999999"],
        ["payouts", "list", "--state", "bogus"],
        ["payouts", "list", "--due-before", "0001-01-01T00:00:00Z"],
        ["payouts", "host", "acct_cli", "--actor", "ops", "--delay-hours", "-5"],
        ["payouts", "host", "acct_cli", "--actor", "ops", "--delay-hours", "nan"],
        ["payouts", "host", "acct_cli", "--actor", "ops"],
        ["payouts", "hold", "pay_x:bk_x", "--actor", "ops", "--note", "a\x1bb"],  # ESC
        [
            "reserves",
            "create",
            "p",
            "--kind",
            "fixed",
            "--fixed-amount",
            "1" + "0" * 20,
            "--actor",
            "o",
        ],
        ["release-payout", "bk_x", "--amount", "-5"],
    ):
        done = finance_cli(finance + args)
        assert done.returncode == 2, (args, done.stderr)
        last = done.stderr.strip().splitlines()[-1]
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert "error: argument" in last or "refused (validation_failed)" in last, (args, last)


async def test_a_reserve_policy_version_splits_new_payables_and_is_released_on_schedule(
    q: QueueHarness, api: httpx.AsyncClient
) -> None:
    policy = f"rolling_{uuid.uuid4().hex[:8]}"
    body = {"policy_id": policy, "kind": "rolling_percent", "percent_bps": 1_000, "hold_days": 30}
    created = await api.post("/v1/payouts/reserve-policies", json={**body, "actor": "risk"})
    assert created.json()["version"] == 1
    assigned = await api.put(
        "/v1/payouts/reserve-policies/assignments",
        json={"scope": "host", "scope_key": q.host, "policy_id": policy, "actor": "risk"},
    )
    assert assigned.status_code == 200
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    # a new version applies to new payables only
    v2 = await api.post(
        "/v1/payouts/reserve-policies", json={**body, "percent_bps": 5_000, "actor": "risk"}
    )
    assert v2.json()["version"] == 2
    entry = await q.entry(entry_id(captured))
    assert (entry["reserve_amount"], entry["policy_id"], entry["policy_version"]) == (
        850,
        policy,
        1,
    )
    assert await q.balance(f"liability:host_reserve:{q.host}") == -850
    q.clock.at = START + DAY
    await q.run_due()
    assert (await q.entry(entry_id(captured)))["amount"] == 7_650

    q.clock.at = START - timedelta(days=3) + timedelta(days=30)  # queued at the harness's start
    await q.run_due()  # the reserve is released, then its own entry is paid
    await q.run_due()
    assert await q.balance(f"liability:host_reserve:{q.host}") == 0
    paid = await q.entry(f"rsv_{entry_id(captured)}:paid")
    assert (paid["kind"], paid["state"], paid["amount"]) == ("reserve", "released", 850)
    [held] = await q.events("finance.reserve_held", f"rsv_{entry_id(captured)}")
    assert (held["amount"], held["policy_version"]) == (850, 1)


async def test_the_payouts_and_reserves_commands_do_what_the_api_does(q: QueueHarness) -> None:
    checkout, captured = q.booking()
    await q.deliver(checkout, captured)
    one = entry_id(captured)
    staff = ["--actor", "ops@example.com", "--note", "cli"]
    held = finance_cli([sys.executable, "-m", "finance", "payouts", "hold", one, *staff])
    assert held.returncode == 0, held.stderr
    assert json.loads(held.stdout)["state"] == "held"
    refused = finance_cli([sys.executable, "-m", "finance", "payouts", "release-now", one, *staff])
    assert refused.returncode == 2 and "illegal_transition" in refused.stderr
    assert (
        finance_cli([sys.executable, "-m", "finance", "payouts", "unhold", one, *staff]).returncode
        == 0
    )
    released = finance_cli([sys.executable, "-m", "finance", "payouts", "release-now", one, *staff])
    assert json.loads(released.stdout)["state"] == "released", released.stderr
    retried = finance_cli([sys.executable, "-m", "finance", "payouts", "retry", one, *staff])
    assert retried.returncode == 2 and "illegal_transition" in retried.stderr
    listed = finance_cli(
        [
            sys.executable,
            "-m",
            "finance",
            "payouts",
            "list",
            "--host",
            q.host,
            "--state",
            "released",
        ]
    )
    assert [e["entry_id"] for e in json.loads(listed.stdout)] == [one]
    shown = json.loads(
        finance_cli([sys.executable, "-m", "finance", "payouts", "show", one]).stdout
    )
    assert [h["trigger"] for h in shown["history"]][-1] == "release"
    host = finance_cli(
        [
            sys.executable,
            "-m",
            "finance",
            "payouts",
            "host",
            q.host,
            "--actor",
            "ops",
            "--delay-hours",
            "48",
        ]
    )
    assert json.loads(host.stdout)["payout_delay_seconds"] == 48 * 3600

    policy = f"fixed_{uuid.uuid4().hex[:8]}"
    created = finance_cli(
        [
            sys.executable,
            "-m",
            "finance",
            "reserves",
            "create",
            policy,
            "--kind",
            "fixed",
            "--fixed-amount",
            "20000",
            "--currency",
            "usd",
            "--hold-days",
            "90",
            "--actor",
            "risk",
        ]
    )
    assert json.loads(created.stdout)["version"] == 1, created.stderr
    tier = f"tier_{uuid.uuid4().hex[:6]}"
    assigned = finance_cli(
        [
            sys.executable,
            "-m",
            "finance",
            "reserves",
            "assign",
            policy,
            "--scope",
            "tier",
            "--key",
            tier,
            "--actor",
            "risk",
        ]
    )
    assert assigned.returncode == 0, assigned.stderr
    listed = json.loads(finance_cli([sys.executable, "-m", "finance", "reserves", "list"]).stdout)
    assert {"scope": "tier", "scope_key": tier, "policy_id": policy} in [
        {k: a[k] for k in ("scope", "scope_key", "policy_id")} for a in listed["assignments"]
    ]
    unknown = finance_cli(
        [
            sys.executable,
            "-m",
            "finance",
            "reserves",
            "assign",
            "no_such_policy",
            "--scope",
            "platform",
            "--actor",
            "risk",
        ]
    )
    assert unknown.returncode == 2 and "unknown_reserve_policy" in unknown.stderr
