"""The built-in signer's page in a real Chromium (Debian's, driven by Playwright): the signer
opens the link, reads the documents and signs with the page's own form. The page sends no
referrer to other sites and refuses forms other sites post (`eventkit.forms`): a real browser
must still get its own form through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from booking.adapters.esign.base import EnvelopeStatus
from booking.features.documents.endpoints import build_signing_router
from tests.integration.test_esign_builtin import Setup, create, esign, link
from tests.support.servers import serve_here

pytestmark = pytest.mark.integration

__all__ = ["esign"]  # the provider on the real database, as the page's other tests use it
CHROMIUM = Path("/usr/bin/chromium")
HAS_CHROMIUM = CHROMIUM.exists()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
async def signing_page(esign: Setup) -> AsyncIterator[str]:
    app = FastAPI()
    app.include_router(build_signing_router(esign.provider))
    async with serve_here(app, "the signing page") as url:
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
