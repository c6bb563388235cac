"""The trust staff's disputes API over HTTP (in process, on the real database): roles, the
queue by deadline, one case, evidence edits and files, submit, accept, and every refusal in
the one error body with its code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from disputes.entrypoints import http
from eventkit import http_errors
from eventkit.auth import DEV_JWT_SECRET, issue_token, service_token
from eventkit.db import create_pool
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import disputes as out
from marketplace_contracts.events import payments_disputes as d
from tests.conftest import service_dsn
from tests.support.disputes_harness import NOW, DisputesHarness, ids, opened

pytestmark = pytest.mark.integration
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


def token(
    role: str = "trust", sub: str = "trust-1", secret: str = DEV_JWT_SECRET
) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(secret, sub, role, 600)}"}


@pytest.fixture
async def pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("disputes"), min_size=1, max_size=4)
    assert pool is not None
    yield pool
    await pool.close()


@pytest.fixture
def harness(pool: asyncpg.Pool) -> DisputesHarness:
    return DisputesHarness(pool, evidence_max_bytes=100_000, summary_reserve_bytes=60_000)


@pytest.fixture
async def api(harness: DisputesHarness) -> AsyncIterator[httpx.AsyncClient]:
    """The service's routes and error handlers on the harness's handlers (no Kafka needed)."""
    app = FastAPI()
    http_errors.install(app)
    http.install(app)
    state = {"handlers": harness.handlers, "settings": harness.settings}
    app.state.runtime = SimpleNamespace(db=harness.pool, state=state)
    app.state.jwt_secret = harness.settings.jwt_secret
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://disputes") as client:
        yield client


async def a_case(harness: DisputesHarness, **kw: Any) -> str:
    dispute_id, payment_id = ids()
    checkout = b.CheckoutRequestedV1(
        booking_id=f"bk_a_{payment_id}",
        guest_id="guest-1",
        listing_id="lst_loft_01",
        host_id="h",
        host_account_id="acct_A",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=2),
        amount=20_000,
        currency="usd",
        platform_fee=3_000,
        payment_method="pm_card_visa",
        client_ip="192.0.2.55",
        user_agent="Edge/120",
    )
    await harness.deliver(checkout, checkout.booking_id)
    await harness.deliver(opened(dispute_id, payment_id, **kw), payment_id)
    return dispute_id


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


async def test_only_trust_staff_admins_and_services_acting_for_one_may_use_it(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    path = f"/v1/disputes/{dispute_id}"
    refused(await api.get(path), 401, "unauthenticated")
    refused(await api.get(path, headers=token(secret="x" * 40)), 401, "unauthenticated")
    refused(await api.get(path, headers=token("guest")), 403, "forbidden")
    refused(await api.get(path, headers=token("host")), 403, "forbidden")
    for role in ("trust", "admin"):
        assert (await api.get(path, headers=token(role))).status_code == 200
    ops = {"Authorization": f"Bearer {service_token(DEV_JWT_SECRET, 'ops')}"}
    assert (await api.get(path, headers=ops)).status_code == 200  # a service reads
    edit = {"text": {"customer_name": "A. Guest"}}
    nobody = await api.patch(f"{path}/evidence", json=edit, headers=ops)
    refused(nobody, 400, "acting_for_required")  # a service changes only for someone
    acting = await api.patch(f"{path}/evidence", json=edit, headers={**ops, "X-Acting-For": "t-7"})
    assert acting.json()["history"][-1]["actor"] == "t-7 via service:ops"


async def test_one_case_shows_its_evidence_history_and_money(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    payment_id = (await harness.case(dispute_id))["payment_id"]
    warning = d.EarlyFraudWarningReceivedV1(
        warning_id=f"issfr_{payment_id}",
        payment_id=payment_id,
        booking_id="b",
        fraud_type="made_with_stolen_card",
        actionable=True,
        received_at=NOW,
    )
    for _ in range(2):
        await harness.deliver(warning, payment_id)
    case = (await api.get(f"/v1/disputes/{dispute_id}", headers=token())).json()
    assert [w["fraud_type"] for w in case["fraud_warnings"]] == ["made_with_stolen_card"]
    assert (case["status"], case["reason"], case["amount"]) == (
        "needs_response",
        "fraudulent",
        32_000,
    )
    assert [leg["host_account_id"] for leg in case["legs"]] == ["acct_A", "acct_B"]
    assert case["evidence"]["text"]["customer_purchase_ip"] == "192.0.2.55"
    assert case["evidence"]["files"][0]["field"] == "uncategorized_file"
    assert case["history"][0]["trigger"] == "opened"
    assert case["money"] == {**case["money"], "withdrawn": 0, "fee": 0, "shares": []}
    refused(await api.get("/v1/disputes/dsp_nope", headers=token()), 404, "case_not_found")
    pdf = await api.get(f"/v1/disputes/{dispute_id}/evidence/summary.pdf", headers=token())
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")


async def test_the_queue_is_sorted_by_deadline_filtered_and_paged(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    host = f"acct_{ids()[0]}"
    made = []
    for days in (5, 2, None, 9, None):  # no due_by (a closed inquiry): last
        legs = [
            {
                "booking_id": f"bk_{days}_{host}_{len(made)}",
                "host_account_id": host,
                "amount": 100,
                "platform_fee": 10,
                "host_amount": 90,
            }
        ]
        due_by = NOW + timedelta(days=days) if days else None
        made.append(await a_case(harness, due_by=due_by, legs=legs, amount=100))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"host_account_id": host, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/disputes", params=params, headers=token())).json()
        seen += [c["dispute_id"] for c in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [made[1], made[0], made[3], *sorted([made[2], made[4]])]
    due = (NOW + timedelta(days=6)).isoformat()
    soon = await api.get(
        "/v1/disputes", params={"host_account_id": host, "due_before": due}, headers=token()
    )
    assert [c["dispute_id"] for c in soon.json()["data"]] == [made[1], made[0]]
    other = await api.get(
        "/v1/disputes", params={"host_account_id": host, "reason": "duplicate"}, headers=token()
    )
    assert other.json() == {"data": [], "next_cursor": None}
    refused(
        await api.get("/v1/disputes", params={"limit": 0}, headers=token()),
        422,
        "validation_failed",
    )
    refused(
        await api.get("/v1/disputes", params={"cursor": "???"}, headers=token()),
        422,
        "invalid_cursor",
    )
    for bad in ({"status": "nonsense"}, {"reason": "because"}, {"host_account_id": "a\x00b"}):
        refused(
            await api.get("/v1/disputes", params=bad, headers=token()), 422, "validation_failed"
        )
    for due in ("2026-12-01T00:00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        params = {"host_account_id": host, "due_before": due}  # naive, or outside 2000-2199
        refused(
            await api.get("/v1/disputes", params=params, headers=token()), 422, "validation_failed"
        )


async def test_the_queue_shows_open_cases_unless_asked_for_closed_ones(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    host = f"acct_{ids()[0]}"
    legs = [{"booking_id": f"bk_{host}", "host_account_id": host, "amount": 100,
             "platform_fee": 10, "host_amount": 90}]  # fmt: skip
    still, done = [await a_case(harness, legs=legs, amount=100) for _ in range(2)]
    payment_id = "pay_" + done.removeprefix("dsp_")
    won = d.DisputeClosedV1(
        dispute_id=done,
        processor_dispute_id="du_" + done.removeprefix("dsp_"),
        payment_id=payment_id,
        booking_id=f"grp_{payment_id}",
        status="won",
        amount=100,
        currency="usd",
        reason="fraudulent",
        closed_at=NOW + timedelta(days=1),
    )
    await harness.deliver(won, payment_id)

    async def listed(**params: str) -> list[str]:
        page = await api.get("/v1/disputes", params={"host_account_id": host, **params},
                             headers=token())  # fmt: skip
        assert page.status_code == 200, page.text
        return [c["dispute_id"] for c in page.json()["data"]]

    assert await listed() == [still]
    assert await listed(status="closed") == [done]
    assert await listed(status="won") == [done]
    assert sorted(await listed(status="all")) == sorted([still, done])


async def test_staff_edit_text_and_add_files_within_limits(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    path = f"/v1/disputes/{dispute_id}/evidence"
    edited = await api.patch(
        path,
        json={"text": {"customer_name": "A. Guest", "customer_purchase_ip": None}},
        headers=token(sub="trust-9"),
    )
    assert edited.status_code == 200, edited.text
    text = edited.json()["evidence"]["text"]
    assert text["customer_name"] == "A. Guest" and "customer_purchase_ip" not in text
    assert edited.json()["history"][-1] | {"at": None} == {
        "at": None,
        "actor": "trust-9",
        "trigger": "evidence_edited",
        "from": "needs_response",
        "to": "needs_response",
        "detail": {"fields": {"customer_name": "set", "customer_purchase_ip": "removed"}},
    }
    refused(
        await api.patch(path, json={"text": {"shipping_carrier_x": "x"}}, headers=token()),
        422,
        "unknown_evidence_field",
    )
    refused(
        await api.patch(path, json={"text": {"customer_name": 5}}, headers=token()),
        422,
        "validation_failed",
    )
    refused(
        await api.patch(path, json={"text": {"customer_name": "a\u0000b"}}, headers=token()),
        422,
        "validation_failed",
    )
    refused(
        await api.patch(
            path, content=b"{", headers={**token(), "content-type": "application/json"}
        ),
        400,
        "malformed_json",
    )

    files = f"{path}/files"
    added = await api.post(
        files,
        data={"field": "receipt"},
        files={"file": ("r.png", PNG, "image/png")},
        headers=token(),
    )
    assert added.status_code == 201, added.text
    assert (added.json()["field"], added.json()["size"]) == ("receipt", len(PNG))
    raw = (  # a client that sends control characters in the file's name, as is
        b'--B\r\nContent-Disposition: form-data; name="field"\r\n\r\nreceipt\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a\x07b.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--B--\r\n"
    )
    odd = await api.post(
        files, content=raw, headers={**token(), "content-type": "multipart/form-data; boundary=B"}
    )
    assert (odd.status_code, odd.json()["filename"]) == (201, "ab.png")
    refused(
        await api.post(
            files,
            data={"field": "receipt"},
            files={"file": ("r.txt", b"hi", "text/plain")},
            headers=token(),
        ),
        422,
        "unsupported_file_type",
    )
    refused(
        await api.post(
            files,
            data={"field": "receipt"},
            files={"file": ("r.pdf", PNG, "application/pdf")},
            headers=token(),
        ),
        422,
        "unsupported_file_type",
    )
    refused(
        await api.post(
            files,
            data={"field": "nope"},
            files={"file": ("r.png", PNG, "image/png")},
            headers=token(),
        ),
        422,
        "unknown_evidence_field",
    )
    refused(
        await api.post(
            files,
            data={"field": "receipt"},
            files={"file": ("r.png", b"", "image/png")},
            headers=token(),
        ),
        422,
        "empty_file",
    )
    big = PNG + b"\0" * 40_000  # the budget: 100,000 minus 60,000 kept for the summary
    refused(
        await api.post(
            files,
            data={"field": "customer_communication"},
            files={"file": ("b.png", big, "image/png")},
            headers=token(),
        ),
        413,
        "evidence_too_large",
    )
    refused(
        await api.post(files, files={"file": ("r.png", PNG, "image/png")}, headers=token()),
        422,
        "validation_failed",
    )
    huge = PNG + b"\0" * 200_000  # past the budget and the multipart framing: refused unread
    refused(
        await api.post(
            files,
            data={"field": "receipt"},
            files={"file": ("h.png", huge, "image/png")},
            headers=token(),
        ),
        413,
        "evidence_too_large",
    )
    for content, kind in (
        (b"not multipart", "multipart/form-data"),
        (b"x", "multipart/form-data; boundary=zz"),
    ):
        # A form the parser cannot read (no boundary, no part): a field that does not validate.
        unreadable = await api.post(
            files, content=content, headers={**token(), "Content-Type": kind}
        )
        refused(unreadable, 422, "validation_failed")
    case = (await api.get(f"/v1/disputes/{dispute_id}", headers=token())).json()
    assert [f["field"] for f in case["evidence"]["files"]] == ["uncategorized_file", "receipt"]


async def test_submit_then_every_other_action_is_refused(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    await api.post(
        f"/v1/disputes/{dispute_id}/evidence/files",
        data={"field": "receipt"},
        files={"file": ("r.png", PNG, "image/png")},
        headers=token(),
    )
    submitted = await api.post(f"/v1/disputes/{dispute_id}/submit", headers=token(sub="trust-3"))
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "submitting"
    [request] = [
        e
        for e in await harness.emitted(dispute_id)
        if isinstance(e, out.EvidenceSubmissionRequestedV1)
    ]
    assert (request.request_id, request.actor, request.auto) == (
        submitted.json()["request_id"],
        "trust-3",
        False,
    )
    assert [f.field for f in request.files] == ["uncategorized_file", "receipt"]
    assert len(request.model_dump_json()) < 700_000

    refused(
        await api.post(f"/v1/disputes/{dispute_id}/submit", headers=token()),
        409,
        "illegal_transition",
    )
    refused(
        await api.post(f"/v1/disputes/{dispute_id}/accept", headers=token()),
        409,
        "illegal_transition",
    )
    refused(
        await api.patch(
            f"/v1/disputes/{dispute_id}/evidence",
            json={"text": {"customer_name": "x"}},
            headers=token(),
        ),
        409,
        "evidence_locked",
    )
    fault = await api.post(
        f"/v1/disputes/{dispute_id}/host-fault",
        json={"at_fault": True, "note": "listing misdescribed"},
        headers=token(),
    )
    assert fault.json()["host_fault"] == {"at_fault": True, "note": "listing misdescribed"}
    assert fault.json()["history"][-1]["trigger"] == "host_fault_set"
    refused(
        await api.post(
            f"/v1/disputes/{dispute_id}/host-fault", json={"note": "x"}, headers=token()
        ),
        422,
        "validation_failed",
    )


async def test_accept_answers_202_with_the_case_accepting(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    accepted = await api.post(f"/v1/disputes/{dispute_id}/accept", headers=token("admin", "ops-1"))
    assert accepted.status_code == 202
    assert (accepted.json()["status"], accepted.json()["history"][-1]["actor"]) == (
        "accepting",
        "ops-1",
    )
    inquiry = await a_case(harness, status="warning_needs_response", inquiry=True)
    refused(
        await api.post(f"/v1/disputes/{inquiry}/accept", headers=token()), 409, "illegal_transition"
    )


async def test_two_staff_submitting_at_once_submit_once(
    api: httpx.AsyncClient, harness: DisputesHarness
) -> None:
    dispute_id = await a_case(harness)
    path = f"/v1/disputes/{dispute_id}/submit"
    answers = await asyncio.gather(
        *(api.post(path, headers=token(sub=f"trust-{i}")) for i in range(2))
    )
    assert sorted(a.status_code for a in answers) == [202, 409]
    requests = [
        e
        for e in await harness.emitted(dispute_id)
        if isinstance(e, out.EvidenceSubmissionRequestedV1)
    ]
    assert len(requests) == 1
