"""The trust area of the staff GraphQL API (services/ops/ops/entrypoints/graphql_trust.py),
run in process against the real disputes app and gateway (ASGI, on the test database) with
ops's own database for idempotency tokens and the audit: the dispute queue and a case,
evidence edited and submitted, a claim decided, bookings found, a policy published; each
mutation once per token, audited with before and after, refusals with the services' codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from booking.bootstrap import build_app as booking_app
from booking.bootstrap import build_runtime as booking_runtime
from booking.config import BookingSettings
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.claims import service as claims
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.auth import DEV_JWT_SECRET, Principal, Role, issue_token
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from ops.adapters.disputes_api import DisputesApi
from ops.adapters.staff_apis import ServiceCredential
from ops.adapters.staff_gateway import StaffApis
from ops.entrypoints.graphql_schema import build_schema
from tests.conftest import service_dsn
from tests.integration.test_deposits_claims import (  # noqa: F401 (the fixture)
    _ended_booking,
    _file,
    _run,
    payments,
)
from tests.integration.test_disputes_api import a_case
from tests.integration.test_staff_apis import disputes  # noqa: F401 (the fixture)
from tests.support.disputes_harness import DisputesHarness
from tests.support.payments_harness import PaymentsHarness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
SCHEMA = build_schema()


class Staff:
    """The schema as one staff member calls it, with the services behind it in process."""

    def __init__(self, pool: asyncpg.Pool, apis: StaffApis) -> None:
        self.pool, self.apis = pool, apis

    async def __call__(self, role: str, query: str, sub: str = "tom", **variables: Any) -> Any:
        context = {
            "principal": Principal(sub=sub, role=Role(role)),
            "token": issue_token(DEV_JWT_SECRET, sub, role),
            "pool": self.pool, "settings": None, "apis": self.apis,
        }  # fmt: skip
        result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
        return result

    async def ok(self, role: str, query: str, **variables: Any) -> Any:
        result = await self(role, query, **variables)
        assert not result.errors, result.errors
        return result.data

    async def refused(self, role: str, query: str, **variables: Any) -> str:
        result = await self(role, query, **variables)
        assert result.errors, result.data
        return str(result.errors[0].extensions["code"])

    async def audit(self, target: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT actor, role, action, before, after FROM ops.audit WHERE target = $1 "
            "ORDER BY id",
            target,
        )


@pytest.fixture
async def staff(
    booking_pool: asyncpg.Pool,
    disputes: tuple[FastAPI, DisputesHarness],  # noqa: F811
) -> AsyncIterator[Staff]:
    gateway = booking_app(booking_runtime(BookingSettings()))
    gateway.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database
    disputes_api = DisputesApi(
        "http://disputes",
        ServiceCredential(DEV_JWT_SECRET),
        transport=httpx.ASGITransport(app=disputes[0]),
    )
    apis = StaffApis(
        finance=None,  # type: ignore[arg-type]  # the trust area never calls finance
        disputes=disputes_api,
        booking_url="http://gw",
        timeout=10,
        booking_transport=httpx.ASGITransport(app=gateway),
        payments=None,  # type: ignore[arg-type]  # nor payments
    )
    pool = await create_pool(service_dsn("ops"), min_size=1, max_size=4)
    try:
        yield Staff(pool, apis)
    finally:
        await disputes_api.aclose()
        await pool.close()


CASE = """query ($id: String!) { dispute(id: $id) {
  disputeId status dueBy summaryPdfPath liability { rule }
  evidence { text { name value } assembled { name value } }
  history { actor trigger fromStatus toStatus } } }"""
EDIT = """mutation ($t: String!, $id: String!, $fields: [EvidenceFieldInput!]!) {
  editDisputeEvidence(idempotencyToken: $t, disputeId: $id, fields: $fields) {
    status evidence { text { name value } } } }"""
SUBMIT = """mutation ($t: String!, $id: String!) {
  submitDisputeEvidence(idempotencyToken: $t, disputeId: $id) { disputeId status requestId } }"""
ACCEPT = """mutation ($t: String!, $id: String!) {
  acceptDispute(idempotencyToken: $t, disputeId: $id) { status } }"""


async def test_trust_staff_edit_and_submit_a_cases_evidence_once_each_audited(
    staff: Staff,
    disputes: tuple[FastAPI, DisputesHarness],  # noqa: F811
) -> None:
    # Due long ago, so that it is among the first whatever other tests left open.
    due_by = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 50_000)
    dispute_id = await a_case(disputes[1], due_by=due_by)
    queue = await staff.ok(
        "finance",
        "query ($d: String!) { disputes(dueBefore: $d, first: 200) { items { disputeId dueBy } } }",
        d=(due_by + timedelta(seconds=1)).isoformat(),
    )
    due = [c["dueBy"] for c in queue["disputes"]["items"]]
    assert dispute_id in {c["disputeId"] for c in queue["disputes"]["items"]}
    assert due == sorted(due)  # soonest deadline first
    case = (await staff.ok("trust", CASE, id=dispute_id))["dispute"]
    assert case["status"] == "needs_response" and case["dueBy"]
    assert case["summaryPdfPath"] == f"/console/disputes/{dispute_id}/summary.pdf"

    fields = [{"name": "customer_name", "value": "A. Guest"}]
    assert await staff.refused("finance", EDIT, t="e0", id=dispute_id, fields=fields) == (
        "forbidden"
    )
    token = f"edit-{uuid.uuid4()}"
    edited = await staff.ok("trust", EDIT, t=token, id=dispute_id, fields=fields)
    again = await staff.ok("trust", EDIT, t=token, id=dispute_id, fields=fields)
    assert edited == again
    assert {"name": "customer_name", "value": "A. Guest"} in (
        edited["editDisputeEvidence"]["evidence"]["text"]
    )
    unknown = [{"name": "shoe_size", "value": "44"}]
    code = await staff.refused("trust", EDIT, t=f"x-{uuid.uuid4()}", id=dispute_id, fields=unknown)
    assert code == "unknown_evidence_field"  # the service's own code, passed through

    submitted = await staff.ok("trust", SUBMIT, t=f"s-{uuid.uuid4()}", id=dispute_id)
    assert submitted["submitDisputeEvidence"]["status"] == "submitting"
    assert submitted["submitDisputeEvidence"]["requestId"]
    code = await staff.refused("admin", ACCEPT, t=f"a-{uuid.uuid4()}", id=dispute_id)
    assert code == "illegal_transition"
    late = await staff("admin", ACCEPT, t=f"a-{uuid.uuid4()}", id=dispute_id)
    assert late.errors[0].message == "`accept` is not allowed from `submitting`"  # a sentence

    history = (await staff.ok("trust", CASE, id=dispute_id))["dispute"]["history"]
    assert history[-1]["actor"] == "tom via service:ops"
    rows = await staff.audit(dispute_id)
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("tom", "dispute.edit_evidence"),
        ("tom", "dispute.submit"),
    ]
    assert rows[0]["before"]["edits"] == {}
    assert rows[0]["after"]["edits"] == {"customer_name": "A. Guest"}
    assert rows[1]["before"]["status"] == "needs_response"
    assert rows[1]["after"]["status"] == "submitting"


DECIDE = """mutation ($t: String!, $id: String!, $amount: Int!, $note: String!) {
  decideClaim(idempotencyToken: $t, claimId: $id, amount: $amount, note: $note) {
    status decidedAmount decidedBy decisionNote } }"""


async def test_trust_staff_find_a_booking_and_decide_its_contested_claim(
    staff: Staff,
    booking_pool: asyncpg.Pool,
    payments: PaymentsHarness,  # noqa: F811
) -> None:
    booking_id = await _ended_booking(booking_pool, payments)
    claim = await _file(booking_pool, booking_id, 5_000)
    await _run(booking_pool, claims.contest, uuid.UUID(claim["claim_id"]), claim["guest_id"], "no")
    found = await staff.ok(
        "trust",
        "query ($g: String!) { bookings(guestId: $g) { items { bookingId status } } }",
        g=claim["guest_id"],
    )
    assert [b["bookingId"] for b in found["bookings"]["items"]] == [booking_id]
    listed = await staff.ok(
        "trust", "query ($b: String!) { claims(bookingId: $b) { claimId status } }", b=booking_id
    )
    assert listed["claims"] == [{"claimId": claim["claim_id"], "status": "contested"}]
    assert await staff.refused("finance", "{ bookings { nextCursor } }") == "forbidden"

    vars_ = {"id": claim["claim_id"], "amount": 0, "note": "an old crack"}
    token = f"decide-{uuid.uuid4()}"
    decided = (await staff.ok("trust", DECIDE, t=token, **vars_))["decideClaim"]
    assert decided == {
        "status": "dismissed",
        "decidedAmount": 0,
        "decidedBy": "trust",
        "decisionNote": "an old crack",
    }
    assert (await staff.ok("trust", DECIDE, t=token, **vars_))["decideClaim"] == decided
    code = await staff.refused("admin", DECIDE, t=f"d-{uuid.uuid4()}", **vars_)
    assert code == "illegal_transition"  # decided already
    [row] = await staff.audit(claim["claim_id"])
    assert row["before"]["status"] == "contested"
    assert row["after"]["status"] == "dismissed"


PUBLISH = """mutation ($t: String!, $p: CancellationPolicyInput!) {
  publishCancellationPolicy(idempotencyToken: $t, policy: $p) { name version bands { refundBps } }
}"""


async def test_admins_publish_cancellation_policies_and_trust_staff_read_them(
    staff: Staff, booking_pool: asyncpg.Pool
) -> None:
    name = f"ops-{uuid.uuid4().hex[:8]}"
    policy = {"name": name, "bands": [{"hoursBefore": 48, "refundBps": 5000}]}
    assert await staff.refused("trust", PUBLISH, t="p0", p=policy) == "forbidden"
    published = await staff.ok("admin", PUBLISH, t=f"p-{uuid.uuid4()}", p=policy)
    assert published["publishCancellationPolicy"] == {
        "name": name, "version": 1, "bands": [{"refundBps": 5000}],
    }  # fmt: skip
    listed = await staff.ok("trust", "{ cancellationPolicies { name version } }")
    assert {"name": name, "version": 1} in listed["cancellationPolicies"]
    bad = {"name": name, "bands": [{"hoursBefore": 1, "refundBps": 20_000}]}
    assert await staff.refused("admin", PUBLISH, t=f"b-{uuid.uuid4()}", p=bad) == (
        "validation_failed"
    )
    [row] = await staff.audit(f"cancellation_policy:{name}")
    assert (row["action"], row["before"], row["after"]["version"]) == (
        "cancellation_policy.publish",
        None,
        1,
    )


async def test_trust_staff_search_booking_groups(staff: Staff, booking_pool: asyncpg.Pool) -> None:
    listing_id = f"lst_ops_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-o', 'acct_o', 'Ops', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    guest = f"guest-o-{uuid.uuid4().hex[:6]}"
    start = datetime(2034, 5, 1, 9, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 900)
    cmd = PlaceBooking(guest, listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        placed = await place_booking(UnitOfWork(conn, Outbox("booking", "booking")), cmd)
    one = await staff.ok(
        "trust", "query ($id: String!) { booking(id: $id) { bookingId guestId } }",
        id=str(placed["booking_id"]),
    )  # fmt: skip
    assert one["booking"]["guestId"] == guest
    groups = await staff.ok(
        "trust", "query ($g: String!) { checkoutGroups(guestId: $g) { items { groupId } } }",
        g=guest,
    )  # fmt: skip
    assert groups["checkoutGroups"]["items"] == []  # a single booking is no group
    code = await staff.refused("trust", '{ checkoutGroup(id: "nope") { groupId } }')
    assert code in ("group_not_found", "validation_failed")
