"""The console's trust pages on the gateway's data, in process (the console on a bare app, the
gateway and disputes apps behind it as in test_ops_trust): trust staff find a booking, open
its contested claim and decide it after the form's confirmation; admins publish a cancellation
policy and trust staff only read them; a refusal is shown as a sentence."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from booking.features.claims import service as claims
from eventkit.auth import DEV_JWT_SECRET, issue_token
from ops.entrypoints import console
from tests.integration.test_deposits_claims import (  # noqa: F401 (the fixture)
    _ended_booking,
    _file,
    _run,
    payments,
)
from tests.integration.test_disputes_api import a_case
from tests.integration.test_ops_trust import SCHEMA, Staff, staff  # noqa: F401 (the fixture)
from tests.integration.test_staff_apis import disputes  # noqa: F401 (the fixture)
from tests.support.disputes_harness import DisputesHarness
from tests.support.payments_harness import PaymentsHarness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


@pytest.fixture
async def browse(staff: Staff) -> AsyncIterator[FastAPI]:  # noqa: F811
    app = FastAPI()
    app.state.graphql_schema = SCHEMA
    app.state.jwt_secret = DEV_JWT_SECRET
    app.state.runtime = SimpleNamespace(db=staff.pool, settings=None, state={"apis": staff.apis})
    console.install(app)
    yield app


def client(app: FastAPI, role: str) -> httpx.AsyncClient:
    cookies = {console.COOKIE: issue_token(DEV_JWT_SECRET, f"{role}-staff", role)}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ops", cookies=cookies
    )


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_trust_staff_find_a_booking_and_decide_its_claim_in_the_console(
    browse: FastAPI,
    booking_pool: asyncpg.Pool,
    payments: PaymentsHarness,  # noqa: F811
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 5_000)
    claim_id = claim["claim_id"]
    await _run(booking_pool, claims.contest, uuid.UUID(claim_id), claim["guest_id"], "worn")
    async with client(browse, "trust") as trust:
        found = await trust.get("/console/bookings", params={"guest": claim["guest_id"]})
        assert found.status_code == 200
        assert found.text.count('<tr class="booking">') == 1 and booking_id in found.text
        assert f"/console/timeline?id={booking_id}" in found.text
        empty = await trust.get("/console/bookings", params={"guest": "nobody-at-all"})
        assert "Nothing matches" in empty.text
        groups = await trust.get("/console/bookings", params={"kind": "groups", "guest": "x"})
        assert "Linked Booking Groups" in groups.text and "Nothing matches" in groups.text

        opened = await trust.get("/console/claims", params={"id": claim_id})
        assert opened.headers["location"] == f"/console/claims/{claim_id}"
        page = await trust.get(f"/console/bookings/{booking_id}")
        assert f"/console/claims/{claim_id}" in page.text and "contested" in page.text
        shown = await trust.get(f"/console/claims/{claim_id}")
        assert "data-confirm=" in shown.text and 'id="decide-claim"' in shown.text
        form = {"token": token_of(shown.text), "note": "worn before the stay"}
        for amount in ("inf", "1e400"):  # an OverflowError once, a 500
            typo = await trust.post(
                f"/console/claims/{claim_id}/decide", data=form | {"amount": amount}
            )
            assert typo.status_code == 422 and "The amount must be a number." in typo.text
        refused = await trust.post(
            f"/console/claims/{claim_id}/decide", data=form | {"amount": "99"}
        )
        # More than claimed: the gateway's sentence, with its status.
        assert refused.status_code == 422 and 'class="error"' in refused.text
        # The same form again, corrected: a refused token is free again, and the gateway's
        # key follows the request, so the corrected decision is not taken for a replay.
        decided = await trust.post(
            f"/console/claims/{claim_id}/decide", data=form | {"amount": "12.50"}
        )
        assert decided.status_code == 303
        after = await trust.get(decided.headers["location"])
        assert "claim decided; it is charging" in after.text
        assert "12.50 USD by trust" in after.text


async def test_admins_publish_a_cancellation_policy_in_the_console_and_trust_reads_it(
    browse: FastAPI,
) -> None:
    name = f"console-{uuid.uuid4().hex[:8]}"
    async with client(browse, "admin") as admin, client(browse, "trust") as trust:
        listed = await trust.get("/console/cancellation-policies")
        assert "needs the admin role" in listed.text
        assert 'action="/console/cancellation-policies"' not in listed.text
        form = await admin.get("/console/cancellation-policies")
        body = {"token": token_of(form.text), "name": name, "grace_hours": "24"}
        for bands in ("soon", "24:inf", "24:1e400"):  # inf: an OverflowError once, a 500
            bad = await admin.post("/console/cancellation-policies", data=body | {"bands": bands})
            assert bad.status_code == 422 and "hours:percent" in bad.text, bands
        done = await admin.post(
            "/console/cancellation-policies", data=body | {"bands": "72:100\n24:50"}
        )
        assert done.status_code == 303
        again = await trust.get("/console/cancellation-policies")
    assert name in again.text and "24 h before: 50.0 %" in again.text


async def test_the_dispute_queue_filters_by_a_due_date_typed_as_a_date(
    browse: FastAPI,
    disputes: tuple[FastAPI, DisputesHarness],  # noqa: F811
) -> None:
    # Due long ago (before other tests' open cases, so on the first page); submitted at the
    # end, so no open case is left behind for the next run.
    due_by = datetime(2002, 6, 1, 12, tzinfo=UTC) + timedelta(seconds=uuid.uuid4().int % 40_000)
    dispute_id = await a_case(disputes[1], due_by=due_by)
    queue = {"status": "needs_response"}
    async with client(browse, "finance") as finance, client(browse, "trust") as trust:
        found = await finance.get("/console/disputes", params=queue | {"due_before": "2002-06-03"})
        assert dispute_id in found.text
        before = await finance.get("/console/disputes", params=queue | {"due_before": "2002-06-01"})
        assert dispute_id not in before.text
        case = await finance.get(f"/console/disputes/{dispute_id}")
        assert "needs_response" in case.text and 'id="submit-evidence"' not in case.text
        assert "need the trust or admin role" in case.text  # finance reads, does not act
        shown = await trust.get(f"/console/disputes/{dispute_id}")
        form = {"token": token_of(shown.text) + "-submit"}
        submitted = await trust.post(f"/console/disputes/{dispute_id}/submit", data=form)
        assert submitted.status_code == 303
        after = await trust.get(submitted.headers["location"])
    assert "evidence submitted; the case is submitting" in after.text
