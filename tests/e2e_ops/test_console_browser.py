"""The console in a real Chromium (Debian's, driven by Playwright): sign in, walk a booking's
timeline, find its dead letter, dry-run it and replay it; screenshots are kept as artifacts
(the test's tmp dir and .run/artifacts/console/)."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import shutil
import threading
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e_ops.conftest import ROOT, Ops, dead_letter, publish
from tests.e2e_ops.test_dead_letters import _ends, _letters, _replayed_copies, open_poison_letter
from tests.e2e_ops.test_timeline import checkout_saga
from tests.support import free_port
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def off_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end in a thread of its own: Playwright's sync API keeps an
    event loop running in the test's thread, where asyncio.run may not start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def test_staff_walk_a_bookings_timeline_and_replay_its_dead_letter(
    ops: Ops, page: object, tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    shots = tmp_path / "screenshots"
    booking_id, payment_id, cid = (
        f"bk-{uuid.uuid4().hex[:8]}",
        f"pay-{uuid.uuid4().hex[:8]}",
        uuid.uuid4(),
    )
    requested, authorized, confirmed = checkout_saga(booking_id, payment_id, cid)
    off_loop(publish(requested, authorized, confirmed))
    off_loop(
        dead_letter("booking", confirmed.to_bytes(), key=booking_id, topic="booking.events",
                    error=RuntimeError("receipt renderer failed"), attempts=5)
    )  # fmt: skip

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(f"{ops.url}/console")
    expect(page).to_have_url(f"{ops.url}/console/sign-in")
    page.fill("input[name=sub]", "olga")
    page.select_option("select[name=role]", "admin")
    page.click("text=Sign in >> nth=-1")
    expect(page.locator("header")).to_contain_text("olga (admin)")

    # Search by the booking id: every hop, the dead letter on the way (the projection is
    # asynchronous, so search again until it has caught up).
    page.fill("input[name=id]", booking_id)
    page.click("text=Find")
    rows = page.locator("section.saga tbody tr")

    def found() -> int:
        count = rows.count()
        if count != 4:
            page.click("text=Find")
        return count

    wait_until(found, lambda count: count == 4, timeout=20, what="the saga's four hops found")
    expect(rows).to_have_count(4)
    expect(page.locator("section.saga h2")).to_contain_text("checkout saga")
    expect(rows.nth(0)).to_contain_text("test.checkout_requested")
    expect(rows.nth(1)).to_contain_text("test.payment_authorized")
    expect(rows.nth(1)).to_contain_text("ms")  # the hop time
    expect(rows.nth(3)).to_contain_text("receipt renderer failed")
    shot("1-timeline")

    # From the dead letter to its dry run, then the replay (after a confirmation).
    rows.nth(3).locator("text=open").click()
    expect(page.locator("p.plan")).to_contain_text("re-published to")
    shot("2-dry-run")
    target = "booking.retry" if "booking.retry" in page.inner_text("p.plan") else "booking.events"
    before = off_loop(_ends(target))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#replay")
    expect(page.locator("p.done")).to_contain_text("replayed to")
    page.fill("input[name=key]", booking_id)
    page.click("text=Filter")
    expect(page.locator("tr.letter")).to_have_count(1)
    expect(page.locator("tr.letter")).to_contain_text("replayed")
    shot("3-replayed")
    copies = off_loop(_replayed_copies(target, before, booking_id))
    assert len(copies) == 1 and copies[0].value == confirmed.to_bytes()

    kept = ROOT / ".run" / "artifacts" / "console"
    kept.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy(png, kept / png.name)
    assert len(list(shots.glob("*.png"))) == 3


@contextlib.contextmanager
def another_port(html: str) -> Iterator[str]:
    """A page served on another port of 127.0.0.1: for the browser the same site as the
    console (SameSite cookies go with its forms), but not the same origin."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/prize.html"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_port_cannot_post_a_console_form(ops: Ops, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    with ThreadPoolExecutor(1) as pool:  # it runs asyncio, which Playwright's loop refuses
        key, where = pool.submit(open_poison_letter, ops).result()
    forged = (
        f'<form id="f" method="post" action="{ops.url}/console/dead-letters/disputes/'
        f'{where["p"]}/{where["o"]}/skip"><input name="token" value="{uuid.uuid4()}">'
        '<input name="note" value="skipped by a page on another port"></form>'
        "<script>document.getElementById('f').submit()</script>"
    )
    page.goto(f"{ops.url}/console/sign-in")
    page.fill("input[name=sub]", "olga")
    page.select_option("select[name=role]", "admin")
    page.click("text=Sign in >> nth=-1")
    expect(page.locator("header")).to_contain_text("olga (admin)")

    with another_port(forged) as url:
        page.goto(url)
        expect(page.locator("body")).to_contain_text("cross_site_form")
    assert _letters(ops, key)[0]["state"] == "open"

    # The console's own form still works in the same browser.
    page.goto(f"{ops.url}/console/dead-letters/disputes/{where['p']}/{where['o']}")
    page.fill("input[name=note]", "poison, skipped from the console")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Skip with this note")
    expect(page.locator("p.done")).to_contain_text("skipped")
    assert _letters(ops, key)[0]["state"] == "skipped"
