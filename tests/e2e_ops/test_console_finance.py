"""The console's finance pages against real processes (ops, finance, the Stripe simulator) on
the test database: finance staff hold then release a payout and close a day in a real
Chromium, and the audit shows each; the other finance pages over plain HTTP (lists, empty
states, refusals as sentences). Screenshots are kept like test_console_browser's."""

from __future__ import annotations

import random
import shutil
import string
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import KAFKA, service_dsn
from tests.e2e_ops.conftest import ROOT, Ops
from tests.e2e_ops.test_console_browser import off_loop, page  # noqa: F401 (a fixture)
from tests.support import free_port
from tests.support.finance_queue import (
    QueueHarness,
    entry_id,
    finance_pool,
    open_books,
    unused_currency,
)
from tests.support.processes import serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def books_ops(ops: Ops, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    """An ops process reaching a finance process that reads a simulator of its own (`ops`,
    the package's, is asked for so the test database and Kafka are ready)."""
    logs = tmp_path_factory.mktemp("finance-console-logs")
    sim_port, finance_port, ops_port = free_port(), free_port(), free_port()
    urls = {name: f"http://127.0.0.1:{port}"
            for name, port in (("stripe", sim_port), ("finance", finance_port),
                               ("ops", ops_port))}  # fmt: skip
    env = {
        **ops.env,
        "KAFKA_BOOTSTRAP": KAFKA,
        "FINANCE_DATABASE_URL": service_dsn("finance"),
        "FINANCE_HTTP_PORT": str(finance_port),
        "FINANCE_STRIPE_API_BASE": urls["stripe"],
        "FINANCE_CLOSE_CHECK_SECONDS": "0",  # closes only by hand, from the console
        "OPS_HTTP_PORT": str(ops_port),
        "OPS_FINANCE_URL": urls["finance"],
        # Nothing listens there: the payments lookup's outage shows as a sentence.
        "OPS_PAYMENTS_URL": f"http://127.0.0.1:{free_port()}",
    }
    with ExitStack() as stack:
        sim = ["-m", "stripesim", "--port", str(sim_port)]
        stack.enter_context(serving(sim, env, logs / "stripe.log", urls["stripe"], path=""))
        for name in ("finance", "ops"):
            stack.enter_context(
                serving(["-m", name, "serve"], env, logs / f"{name}.log", urls[name])
            )
        yield Ops(urls["ops"], env)


async def _queued_payout() -> tuple[str, str]:
    """A payout entry in finance's queue (a booking's capture, as finance consumes it)."""
    async with finance_pool() as pool:
        q = QueueHarness(pool)
        checkout, captured = q.booking()
        await q.deliver(checkout, captured)
        await q.close()
        return entry_id(captured), q.host


def _currency() -> str:
    """A made-up currency code (for names that only need to be new)."""
    return "x" + "".join(random.choices(string.ascii_lowercase, k=2))


async def _unused_currency() -> str:
    async with finance_pool() as pool:
        return await unused_currency(pool)


async def _currency_with_books(day: str) -> str:
    """An unused currency whose books begin on `day` (a day with nothing to close is refused)."""
    currency = await _unused_currency()
    async with finance_pool() as pool:
        await open_books(pool, currency, date.fromisoformat(day))
    return currency


AUDIT = "query ($t: String) { audit(target: $t) { actor role action before after } }"


def test_finance_staff_hold_and_release_a_payout_and_close_a_day(
    books_ops: Ops,
    page: object,  # noqa: F811 (test_console_browser's fixture, imported above)
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    shots = tmp_path / "screenshots"
    one, host = off_loop(_queued_payout())
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    currency = off_loop(_currency_with_books(yesterday))

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(f"{books_ops.url}/console")
    page.fill("input[name=sub]", "fiona")
    page.select_option("select[name=role]", "finance")
    page.click("text=Sign in >> nth=-1")
    expect(page.locator("header")).to_contain_text("fiona (finance)")

    page.click("header >> text=Payouts")
    page.fill("input[name=host]", host)
    page.click("text=Filter")
    expect(page.locator("tr.entry")).to_have_count(1)
    expect(page.locator("tr.entry")).to_contain_text("scheduled")
    page.click(f"text={one}")
    shot("fin-1-entry")

    page.fill("#hold >> xpath=.. >> input[name=note]", "guest complaint under review")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#hold")
    expect(page.locator("p.done")).to_contain_text("now held")
    expect(page.locator("td.state")).to_contain_text("held")
    shot("fin-2-held")
    page.fill("#release-hold >> xpath=.. >> input[name=note]", "complaint withdrawn")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#release-hold")
    expect(page.locator("p.done")).to_contain_text("now scheduled")
    expect(page.locator("tr.history")).to_contain_text(["hold", "fiona via service:ops"])
    shot("fin-3-released")

    page.click("header >> text=Daily close")
    page.fill("input[name=business_date]", yesterday)
    page.fill("input[name=currency]", currency)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#run-close")
    expect(page.locator("p.status")).to_contain_text("closed")
    expect(page.locator("h1")).to_contain_text(f"{yesterday} ({currency})")
    shot("fin-4-closed")

    payout_audit = books_ops.graphql(AUDIT, t=f"payout:{one}")["data"]["audit"]
    assert [(a["action"], a["actor"], a["role"]) for a in reversed(payout_audit)] == [
        ("payout.hold", "fiona", "finance"),
        ("payout.unhold", "fiona", "finance"),
    ]
    close_audit = books_ops.graphql(AUDIT, t=f"close:{yesterday}:{currency}")["data"]["audit"]
    assert [(a["action"], a["actor"]) for a in close_audit] == [("close.run", "fiona")]
    assert f'"{yesterday}:{currency}": "closed"' in close_audit[0]["after"]

    kept = ROOT / ".run" / "artifacts" / "console"
    kept.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy(png, kept / png.name)
    assert len(list(shots.glob("fin-*.png"))) == 4


def _signed_in(ops: Ops, role: str) -> httpx.Client:
    client = httpx.Client(base_url=ops.url, timeout=30)
    client.post("/console/sign-in", data={"token": ops.token(role, sub="sam")})
    return client


def test_the_finance_pages_list_show_empty_states_and_refusals_as_sentences(
    books_ops: Ops,
) -> None:
    finance = _signed_in(books_ops, "finance")
    reserves = finance.get("/console/reserves")
    assert reserves.status_code == 200 and "New policy" in reserves.text
    recon = finance.get("/console/reconciliation", params={"status": "resolved"})
    assert recon.status_code == 200 and "Reconciliation exceptions" in recon.text
    # A currency finance has never booked or closed in: a made-up one may be one another test
    # closed a day in (the suite closes days in currencies of its own).
    never_closed = off_loop(_unused_currency())
    closes = finance.get("/console/closes", params={"currency": never_closed})
    assert "No day has been closed" in closes.text, closes.text[closes.text.find("<h1>") :]
    missing = finance.get("/console/payouts/pay_nope:bk_nope")
    assert missing.status_code == 200 and "no payout entry pay_nope:bk_nope" in missing.text
    assert "404 entry_not_found" not in missing.text  # finance's sentence, not its log line
    bad = finance.post("/console/reserves/create", data={"token": "t-" + _currency(),
                       "policy_id": "p-bad", "kind": "fixed"})  # fmt: skip
    assert bad.status_code == 422 and 'class="error"' in bad.text  # finance's own status
    # Payments is down in this module: the lookup says so as a sentence, never a 500.
    lookup = finance.get("/console/payments", params={"id": "bk_nope"})
    assert lookup.status_code == 200 and "payments did not answer" in lookup.text

    trust = _signed_in(books_ops, "trust")
    nav = trust.get("/console/payments").text
    assert "Payments" in nav and "/console/payouts" not in nav
    refused = trust.get("/console/payouts")
    assert refused.status_code == 200 and "Your role (trust) may not do this" in refused.text


def test_the_finance_forms_act_and_say_what_they_did(books_ops: Ops) -> None:
    finance = _signed_in(books_ops, "finance")
    policy, host = f"p-{_currency()}{random.randrange(10**6)}", f"acct_{_currency()}"
    made = finance.post(
        "/console/reserves/create",
        data={"token": f"t-{policy}", "policy_id": policy, "kind": "rolling_percent",
              "percent_bps": "500", "hold_days": "14", "note": "new hosts"},
        follow_redirects=True,
    )  # fmt: skip
    assert f"Done: policy {policy} version 1 created." in made.text
    assigned = finance.post(
        "/console/reserves/assign",
        data={"token": f"a-{policy}", "policy_id": policy, "scope": "host", "scope_key": host},
        follow_redirects=True,
    )
    assert "Done:" in assigned.text and f"<td>{host}</td><td>{policy}</td>" in assigned.text

    # A difference acknowledged before the close, then the close: the report lists it.
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    currency = off_loop(_currency_with_books(day))
    acked = finance.post(
        f"/console/closes/{day}/{currency}/acknowledge",
        data={"token": f"k-{currency}{day}", "item": "stripe_pending", "amount": "0",
              "note": "checked with the bank"},
    )  # fmt: skip
    assert acked.status_code == 303
    closed = finance.post(
        "/console/closes/run",
        data={"token": f"r-{currency}{day}", "business_date": day, "currency": currency},
        follow_redirects=True,
    )
    assert "Status: <strong>closed</strong>" in closed.text
    assert "checked with the bank" in closed.text and "sam via service:ops" in closed.text

    missing = finance.post(
        "/console/reconciliation/999999999/resolve", data={"token": f"x-{day}", "note": "n"}
    )
    assert missing.status_code == 404 and "no reconciliation exception 999999999" in missing.text
