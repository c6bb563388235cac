"""An amended booking cancelled in full, end to end: the checkout payment and the amendment's
extra charge each give back exactly what they took of the host's share, the platform's fees
and tax, so finance owes the host nothing on either. (Fees spread over the payments in
proportion to their amounts left the host's payables at -43 and +43, and a release of 43
was attempted for a booking refunded in full.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.e2e.conftest import ROOT, System
from tests.e2e_finance import scenario as s

pytestmark = pytest.mark.e2e

# The studio: extras (one of them taxed apart), a cleaning fee, a service fee and city tax, so
# a longer stay is split unlike the checkout was.
SEED = next(
    x
    for x in json.loads((ROOT / "services/booking/booking/seed_listings.json").read_text())
    if x["listing_id"] == "lst_dance_06"
)


def test_a_cancelled_amended_booking_refunds_each_payment_as_it_was_paid(system: System) -> None:
    own = {k: v for k, v in SEED.items() if k not in ("listing_id", "host_id", "host_account_id")}
    studio = s.listing("amendcxl", **{**own, "cancellation_policy": "flexible"})
    s.publish(system.env["KAFKA_BOOTSTRAP"], [studio])
    guest = system.client("booking", sub=f"guest-amendcxl-{s.SUFFIX}")
    host = system.client("booking", sub=studio.host_id, role="host")
    s.until(
        "the studio to replicate",
        lambda: studio.listing_id in {i["listing_id"] for i in guest.get("/v1/listings").json()},
    )
    booked = s.book(
        guest,
        studio,
        s.slot(3, 1),
        guests=10,
        extras={"lights": 1, "assistant": 1, "chairs": 1},
    )
    booking_id = booked["booking_id"]
    booking = s.booking_when(guest, booking_id, lambda b: b["payment_status"] == "captured")
    longer = host.post(
        f"/v1/bookings/{booking_id}/amendments",
        json={
            "ends_at": (datetime.fromisoformat(booking["ends_at"]) + timedelta(hours=1)).isoformat()
        },
    )
    assert longer.status_code == 201, longer.text
    amendment = longer.json()["amendment_id"]
    assert guest.post(f"/v1/amendments/{amendment}/accept").status_code == 200
    s.until(
        "the extra charge",
        lambda: guest.get(f"/v1/amendments/{amendment}").json()["status"] == "applied",
    )

    cancelled = guest.post(f"/v1/bookings/{booking_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    s.booking_when(guest, booking_id, lambda b: b["refund_status"] == "refunded")

    finance = system.client("finance")

    def settled() -> list[dict[str, object]] | None:
        payables = finance.get("/v1/payables", params={"booking_id": booking_id}).json()["payables"]
        refunded = len(payables) == 2 and all(p["refunded"] for p in payables)
        return payables if refunded else None

    payables = s.until("finance to book both refunds", settled)
    for payable in payables:
        assert payable["refunded"] == payable["host_amount"], payable
        assert payable["remaining"] == 0, payable
