"""Issue 12's outside check, end to end on a fresh system: a group booking disputed as
fraudulent, answered by trust staff and lost, borne as the liability policy says and recovered
from the hosts once; a booking with signed documents disputed as not received, answered by the
deadline timer with nobody acting, and won; a paid host's booking disputed and lost while
payments and disputes are killed and Stripe's webhooks arrive twice and backwards; the day
closing with the dispute's balance transactions matched.

The tests run in order and share the package's system (the scenario is one story)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import System
from tests.e2e_disputes import cases as c
from tests.e2e_finance import scenario as s

pytestmark = pytest.mark.e2e
DAY = 24 * 3600
PLAIN = s.listing("dplain")  # the guest's earlier, undisputed bookings; later a paid host's
LEG_A = s.listing("dlega")
LEG_B = s.listing("dlegb")
DOCS = s.listing(
    "ddocs",
    required_documents=[
        {
            "document_id": "rental-agreement-v1",
            "title": "Rental agreement",
            "text": "The guest rents the space for the booked hours and leaves it as found.",
        }
    ],
)
STORY: dict[str, Any] = {}


@pytest.fixture(scope="module")
def guest(dispute_system: System) -> httpx.Client:
    listings = [PLAIN, LEG_A, LEG_B, DOCS]
    s.publish(dispute_system.env["KAFKA_BOOTSTRAP"], listings)
    client = dispute_system.client("booking", sub=f"guest-dsp-{s.SUFFIX}")
    s.until(
        "the listings to replicate",
        lambda: (
            {x.listing_id for x in listings}
            <= {i["listing_id"] for i in client.get("/v1/listings").json()}
        ),
    )
    return client


@pytest.fixture(scope="module")
def trust(dispute_system: System) -> httpx.Client:
    return dispute_system.client("disputes", sub="trust-e2e@example.com", role="trust")


def guest_sub(guest: httpx.Client) -> str:
    return f"guest-dsp-{s.SUFFIX}"


def _captured(guest: httpx.Client, booking: dict[str, Any]) -> dict[str, Any]:
    return s.booking_when(guest, booking["booking_id"], lambda b: b["payment_status"] == "captured")


def test_a_fraudulent_group_dispute_is_answered_lost_and_borne_as_the_policy_says(
    dispute_system: System, guest: httpx.Client, trust: httpx.Client
) -> None:
    system = dispute_system
    earlier = [_captured(guest, s.book(guest, PLAIN, s.slot(1, 2 * n))) for n in range(2)]
    legs = [
        {"listing_id": LEG_A.listing_id, **s.slot(2, 0)},
        {"listing_id": LEG_B.listing_id, **s.slot(2, 4)},
    ]
    group = s.group_captured(guest, legs)
    leg_ids = [leg["booking_id"] for leg in group["legs"]]
    charge = c.charge_of(system, group["group_id"])
    du = c.open_dispute(system, charge, "fraudulent")
    case = c.case_when(trust, du, lambda x: x["status"] == "needs_response")
    assert case["due_by"] and case["reason"] == "fraudulent"
    # the hosts' unpaid payouts are held for the dispute
    held = s.until(
        "the legs' payouts to be held",
        lambda: c.entries_held_by(system, leg_ids, case["dispute_id"]),
    )
    assert {e["booking_id"] for e in held} == set(leg_ids)
    # the booking shows the dispute, to its guest only its status; cancelling is refused
    shown = guest.get(f"/v1/bookings/{leg_ids[0]}").json()
    assert shown["dispute"]["status"] == "needs_response", shown
    refused = guest.post(f"/v1/bookings/{leg_ids[0]}/cancel", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "payment_disputed"
    # the assembled evidence: the checkout's IP address and the guest's earlier bookings
    evidence = case["evidence"]["text"]
    assert evidence["customer_purchase_ip"] == "127.0.0.1", evidence
    history = c.evidence_text(case)
    for booking in earlier:
        assert booking["booking_id"] in history, history
    pdf = trust.get(f"/v1/disputes/{case['dispute_id']}/evidence/summary.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    submitted = trust.post(f"/v1/disputes/{case['dispute_id']}/submit")
    assert submitted.status_code == 202, submitted.text
    c.case_when(trust, du, lambda x: x["status"] == "under_review")
    at_stripe = c.stripe_dispute(system, du)
    assert at_stripe["status"] == "under_review"
    assert at_stripe["evidence"]["customer_purchase_ip"] == "127.0.0.1"
    assert at_stripe["evidence"]["uncategorized_file"], at_stripe["evidence"]
    c.resolve(system, du, won=False)
    lost = c.case_when(trust, du, lambda x: x["status"] == "lost")
    STORY.update(group=group, leg_ids=leg_ids, fraud=lost, fraud_du=du, earlier=earlier)
    # the ledger: the withdrawal and the fee left Stripe's balance; the loss is the hosts'
    # payouts (no 3-D Secure: the hosts bear their shares), the rest the platform's
    shares = c.shares(lost)
    assert sum(shares.values()) == lost["amount"]
    paid_for = {leg["booking_id"]: leg for leg in group["legs"]}
    for booking_id in leg_ids:
        assert 0 < shares[("host", booking_id)] <= paid_for[booking_id]["amount"]
    books = s.until("the loss to be booked", lambda: c.dispute_books(system, du, lost=True))
    assert books["withdrawn"] == lost["amount"] and books["fee"] == 1500, books
    assert books["host_loss"] == sum(v for (p, _), v in shares.items() if p == "host"), books


def test_nobody_acts_the_evidence_is_submitted_before_the_deadline_and_the_dispute_is_won(
    dispute_system: System, guest: httpx.Client, trust: httpx.Client
) -> None:
    system = dispute_system
    booking = s.book(guest, DOCS, s.slot(1, 8))
    booking = s.booking_when(guest, booking["booking_id"], lambda b: b.get("signing_url"))
    c.sign(booking["signing_url"])
    booking = _captured(guest, booking)
    du = c.open_dispute(system, c.charge_of(system, booking["booking_id"]), "product_not_received")
    case = c.case_when(trust, du, lambda x: x["status"] == "needs_response")
    due_by = datetime.fromisoformat(case["due_by"])
    now = s.sim_now(system)
    # three days before the deadline: a reminder, nothing submitted
    s.advance(system, (due_by - now).total_seconds() - 72 * 3600 + 60)
    assert s.until("the 72 h reminder", lambda: c.reminders(system, du)) == [72]
    assert c.case_when(trust, du, lambda x: True)["status"] == "needs_response"
    # a day before the deadline, nobody having acted: submitted automatically
    s.advance(system, 48 * 3600)
    auto = c.case_when(trust, du, lambda x: x["status"] == "under_review", timeout=60)
    assert s.sim_now(system) < due_by
    assert s.until("the 24 h reminder", lambda: len(c.reminders(system, du)) == 2)
    assert c.reminders(system, du) == [72, 24]
    submitter = [h for h in auto["history"] if h["to"] == "submitting"]
    assert [h["actor"] for h in submitter] == ["system:auto_submit"], auto["history"]
    at_stripe = c.stripe_dispute(system, du)
    assert at_stripe["evidence_details"]["past_due"] is False
    assert at_stripe["evidence"]["service_date"], at_stripe["evidence"]
    # what the bank received carries the signed document's audit trail
    trail = at_stripe["evidence"]["access_activity_log"]
    assert "Rental agreement" in trail and "sha256" in trail, trail
    assert f"signed by {guest_sub(guest)} from IP 127.0.0.1" in trail, trail
    c.resolve(system, du, won=True)
    c.case_when(trust, du, lambda x: x["status"] == "won")
    books = s.until("the funds to be reinstated", lambda: c.dispute_books(system, du, lost=False))
    assert books["reinstated"] == books["withdrawn"] > 0, books
    # the hold is lifted: the host is paid (its stay started more than a day ago)
    [entry] = s.until(
        "the documents host to be paid",
        lambda: [
            e
            for e in s.queue(system)
            if e["booking_id"] == booking["booking_id"] and e["state"] == "transferred"
        ],
        timeout=60,
    )
    assert not entry["holds"], entry
    STORY["won_du"] = du


def test_the_group_hosts_bear_their_shares_once_at_their_payout(dispute_system: System) -> None:
    """The group's stays started days ago: its hosts' entries are released net of their
    shares of the loss, and nothing more is taken from them."""
    system = dispute_system
    leg_ids = STORY["leg_ids"]
    shares = c.shares(STORY["fraud"])
    entries = s.until(
        "the group's entries to settle",
        lambda: c.settled(s.queue(system), leg_ids),
        timeout=60,
    )
    for entry in entries:
        assert entry["netted"] == shares[("host", entry["booking_id"])], entry
    with s.stripe(system) as stripe:
        made = s.every(stripe, "/v1/transfers", transfer_group=STORY["group"]["group_id"])
    assert sum(t["amount"] for t in made) == sum(e["amount"] for e in entries)
    assert not [t for t in made if t["amount_reversed"]], made
    assert c.receivables(system, [LEG_A.host_account_id, LEG_B.host_account_id]) == 0


def test_a_paid_hosts_dispute_survives_restarts_and_duplicated_backward_webhooks(
    dispute_system: System, guest: httpx.Client, trust: httpx.Client
) -> None:
    system = dispute_system
    first = STORY["earlier"][0]
    [paid] = s.until(
        "the earlier booking's host to have been paid",
        lambda: [
            e
            for e in s.queue(system)
            if e["booking_id"] == first["booking_id"] and e["state"] == "transferred"
        ],
        timeout=60,
    )
    du = c.open_dispute(system, c.charge_of(system, first["booking_id"]), "fraudulent")
    case = c.case_when(trust, du, lambda x: x["status"] == "needs_response")
    system.kill("disputes")
    system.start("disputes")
    submitted = trust.post(f"/v1/disputes/{case['dispute_id']}/submit")
    assert submitted.status_code == 202, submitted.text
    system.kill("payments")
    system.start("payments")
    c.case_when(trust, du, lambda x: x["status"] == "under_review", timeout=60)
    c.resolve(system, du, won=False)
    system.kill("payments")
    c.replay_webhooks(system, du, backwards=True)  # to no one: payments is down
    system.start("payments")
    c.replay_webhooks(system, du, backwards=True)
    c.replay_webhooks(system, du, backwards=False)
    lost = c.case_when(trust, du, lambda x: x["status"] == "lost", timeout=60)
    share = c.shares(lost)[("host", first["booking_id"])]
    assert share == paid["amount"] + paid["netted"] or share > 0
    with s.stripe(system) as stripe:
        reversed_ = s.until(
            "the host's share to come back by a transfer reversal",
            lambda: [
                t
                for t in s.every(stripe, "/v1/transfers", transfer_group=first["booking_id"])
                if t["amount_reversed"]
            ],
            timeout=60,
        )
    assert [t["amount_reversed"] for t in reversed_] == [share]
    # the history holds each change once, duplicates and restarts notwithstanding
    steps = [(h["trigger"], h["from"], h["to"]) for h in lost["history"]]
    assert len(steps) == len(set(steps)), lost["history"]
    assert [h["to"] for h in lost["history"] if h["from"] != h["to"]] == [
        "needs_response",
        "submitting",
        "under_review",
        "lost",
    ], lost["history"]
    books = c.dispute_books(system, du, lost=True)
    assert books["withdrawn"] == lost["amount"] and books["fee"] == 1500, books
    STORY["paid_du"] = du


def test_the_day_closes_with_the_disputes_reconciled(dispute_system: System) -> None:
    system = dispute_system
    s.until(
        "the ledger to equal Stripe's balance",
        lambda: s.reconciled(system) and s.ledger_stripe(system) == s.stripe_balance(system),
        timeout=90,
    )
    yesterday = s.sim_now(system).date() - timedelta(days=1)
    outcomes = s.close_through(system, yesterday)
    assert outcomes and all(o["status"] == "closed" for o in outcomes), outcomes
    assert s.open_exceptions(system) == []
    made, unbooked = s.unbooked_sources(system)
    assert made > 0 and unbooked == [], unbooked
    sources = c.dispute_sources(system)
    for du in (STORY["fraud_du"], STORY["won_du"], STORY["paid_du"]):
        assert du in sources
