"""Trust staff work a dispute from the console in a real Chromium: sign in, find the case in
the queue by its deadline, edit its evidence, add a file, submit it (after a confirmation), and see the
case `submitting` and the audit row. Ops runs as a process (`python -m ops serve`); the
disputes API it calls runs in this test's process (uvicorn in a thread, on the test database)
with a case delivered through its consumer's handlers (tests/support/servers.py). Screenshots are kept as artifacts."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from disputes.entrypoints import http as disputes_http
from eventkit import http_errors
from eventkit.db import create_pool
from tests.conftest import KAFKA, service_dsn
from tests.e2e_ops.conftest import Ops
from tests.e2e_ops.test_console_browser import page  # noqa: F401 (the fixture)
from tests.integration.test_disputes_api import a_case
from tests.support import free_port
from tests.support.disputes_harness import DisputesHarness
from tests.support.processes import ROOT, serving
from tests.support.servers import serve

pytestmark = pytest.mark.e2e


def _disputes_app(due_by: datetime) -> FastAPI:
    """The disputes API on its own pool, opened (with a new case, its id in
    `app.state.dispute_id`) by the lifespan, so in the serving thread's event loop."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=4)
        try:
            harness = DisputesHarness(pool)
            app.state.runtime = SimpleNamespace(
                db=pool, state={"handlers": harness.handlers, "settings": harness.settings}
            )
            app.state.jwt_secret = harness.settings.jwt_secret
            app.state.dispute_id = await a_case(harness, due_by=due_by)
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)
    http_errors.install(app)
    disputes_http.install(app)
    return app


@pytest.fixture
def trust_system(kafka_bootstrap: str, pg_ready: None, tmp_path: Path) -> Iterator[tuple[Ops, str]]:
    """An ops process whose disputes API is ours, and a case due before other tests' ones."""
    # Due long ago: before every other test's case, so it is on the queue's first page (no
    # scheduler runs beside this disputes app, so nothing acts on the passed deadline).
    due_by = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 50_000)
    disputes = _disputes_app(due_by)
    with serve(disputes, "the disputes API") as disputes_url:
        dispute_id = disputes.state.dispute_id
        assert isinstance(dispute_id, str), dispute_id
        ops_port = free_port()
        log = tmp_path / "ops.log"
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": KAFKA,
            "PYTHONPATH": str(ROOT),
            "OPS_DATABASE_URL": service_dsn("ops"),
            "OPS_HTTP_PORT": str(ops_port),
            "OPS_PROJECTION_GROUP": f"ops-trust-{uuid.uuid4().hex[:8]}",
            "OPS_DISPUTES_URL": disputes_url,
        }
        url = f"http://127.0.0.1:{ops_port}"
        with serving(["-m", "ops", "serve"], env, log, url):
            yield Ops(url, env), dispute_id


def test_trust_staff_edit_and_submit_a_disputes_evidence_from_the_console(
    trust_system: tuple[Ops, str],
    page: object,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    ops, dispute_id = trust_system
    shots = tmp_path / "screenshots"

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # A file over HTTP, as a GraphQL multipart request (an API client's way).
    operations = {
        "query": "mutation ($t: String!, $id: String!, $f: Upload!) { uploadDisputeEvidence("
        'idempotencyToken: $t, disputeId: $id, field: "service_documentation", file: $f) '
        "{ evidence { files { field filename source } } } }",
        "variables": {"t": f"up-{uuid.uuid4()}", "id": dispute_id, "f": None},
    }
    sent = httpx.post(
        f"{ops.url}/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("stay.png", b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png")},
        headers={"Authorization": f"Bearer {ops.token('trust', 'api-client')}"},
        timeout=30,
    )
    files = sent.json()["data"]["uploadDisputeEvidence"]["evidence"]["files"]
    assert {"field": "service_documentation", "filename": "stay.png", "source": "uploaded"} in files

    page.goto(f"{ops.url}/console")
    page.fill("input[name=sub]", "tom@example.com")
    page.select_option("select[name=role]", "trust")
    page.click("text=Sign in >> nth=-1")
    expect(page.locator("header")).to_contain_text("tom@example.com (trust)")
    expect(page.locator("header")).not_to_contain_text("Dead letters")  # not trust's area

    # The queue, soonest deadline first.
    page.click("header >> text=Disputes")
    page.select_option("select[name=status]", "needs_response")
    page.click("text=Filter")
    expect(page.locator(f"tr.dispute:has-text('{dispute_id}')")).to_have_count(1)
    deadlines = page.locator("tr.dispute td:first-child").all_inner_texts()
    assert deadlines == sorted(deadlines)  # soonest first (ISO 8601 in UTC sorts as text)
    shot("1-queue")
    page.click(f"text={dispute_id}")
    expect(page.locator("#case-status")).to_have_text("needs_response")

    page.fill("textarea[name='field:customer_purchase_ip']", "192.0.2.55 (checkout, 3-D Secure)")
    page.fill("input[name=new_name]", "customer_name")
    page.fill("input[name=new_value]", "A. Guest")
    page.click("#save-evidence")
    expect(page.locator("p.done")).to_contain_text("evidence saved")
    expect(page.locator("textarea[name='field:customer_name']")).to_have_value("A. Guest")
    page.select_option("select[name=field]", "receipt")
    receipt = {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 r"}
    page.set_input_files("input[name=file]", files=[receipt])
    page.click("#upload-file")
    expect(page.locator("p.done")).to_contain_text("receipt.pdf added as receipt")
    expect(page.locator("ul.files")).to_contain_text("receipt: receipt.pdf (uploaded, 10 bytes)")
    shot("2-evidence-saved")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#submit-evidence")
    expect(page.locator("p.done")).to_contain_text("evidence submitted; the case is submitting")
    expect(page.locator("#case-status")).to_have_text("submitting")
    expect(page.locator("table.history")).to_contain_text("tom@example.com via service:ops")
    # Submitted, the evidence is final: the page offers no edit any more.
    expect(page.locator("#save-evidence")).to_have_count(0)
    expect(page.locator("textarea[name='field:customer_name']")).to_be_disabled()
    shot("3-submitted")

    # The audit (admins read it) keeps both actions with the state before and after.
    answer = ops.graphql(
        "query ($t: String!) { audit(target: $t) { actor action before after } }", t=dispute_id
    )
    actions = [(a["actor"], a["action"]) for a in answer["data"]["audit"]]
    assert actions[-1] == ("api-client", "dispute.upload_evidence")
    assert actions[:-1] == [
        ("tom@example.com", "dispute.submit"),
        ("tom@example.com", "dispute.upload_evidence"),
        ("tom@example.com", "dispute.edit_evidence"),
    ]
    assert '"needs_response"' in answer["data"]["audit"][0]["before"]
    assert '"submitting"' in answer["data"]["audit"][0]["after"]
    pdf = httpx.get(
        f"{ops.url}/console/disputes/{dispute_id}/summary.pdf",
        cookies={"ops_token": ops.token("trust")},
    )
    assert (pdf.status_code, pdf.content[:5]) == (200, b"%PDF-")

    kept = ROOT / ".run" / "artifacts" / "console"
    kept.mkdir(parents=True, exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy(png, kept / f"trust-{png.name}")
    assert len(list(shots.glob("*.png"))) == 3
