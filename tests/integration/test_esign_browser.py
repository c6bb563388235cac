"""The built-in signer's page in a real Chromium (Debian's, driven by Playwright): the signer
opens the link, reads the documents and signs with the page's own form. The page sends no
referrer to other sites and refuses forms other sites post (`eventkit.forms`): a real browser
must still get its own form through."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from booking.adapters.esign.base import EnvelopeStatus
from booking.features.documents.endpoints import build_signing_router
from tests.integration.test_esign_builtin import Setup, create, esign, link
from tests.support.poll import wait_for

pytestmark = pytest.mark.integration

__all__ = ["esign"]  # the provider on the real database, as the page's other tests use it
CHROMIUM = Path("/usr/bin/chromium")
HAS_CHROMIUM = CHROMIUM.exists()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


async def _served(app: FastAPI) -> AsyncIterator[str]:
    """`app` under uvicorn on this test's event loop (the provider's pool is bound to it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_for(lambda: _started(server), timeout=15, interval=0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


async def _started(server: uvicorn.Server) -> bool:
    return server.started


@pytest.fixture
async def signing_page(esign: Setup) -> AsyncIterator[str]:
    app = FastAPI()
    app.include_router(build_signing_router(esign.provider))
    async for url in _served(app):
        yield url


@pytest.mark.parametrize("action", ["Sign", "Decline"])
async def test_a_signer_decides_with_the_pages_own_form_in_a_browser(
    esign: Setup, signing_page: str, action: str
) -> None:
    if not HAS_CHROMIUM:
        pytest.fail("Debian's chromium is missing: `make setup` installs it")
    from playwright.async_api import async_playwright

    envelope = await create(esign)
    path, token = link(envelope)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page()
            shown = await page.goto(f"{signing_page}{path}?token={token}")
            assert shown is not None and shown.status == 200
            async with page.expect_navigation() as decided:
                await page.get_by_role("button", name=action).click()
            answer = await decided.value
            assert answer is not None and answer.status == 200, await page.content()
        finally:
            await browser.close()
    wanted = EnvelopeStatus.SIGNED if action == "Sign" else EnvelopeStatus.DECLINED
    assert await esign.provider.get_status(envelope.envelope_id) is wanted
