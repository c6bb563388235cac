"""Who may see a booking: the guest who made it, the host of its listing, and admins.

Everyone else gets the same 404 as for a booking that does not exist: no existence leak.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.groups.service import LegRequest, PlaceGroup, place_group
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

pytestmark = pytest.mark.integration
SECRET = "authorization-matrix-secret-long-enough"


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    settings = BookingSettings(jwt_secret=SECRET)
    app = build_app(build_runtime(settings))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database only
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def booking_id(booking_pool: asyncpg.Pool) -> str:
    listing_id = f"lst_authz_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-owner', 'acct_owner', 'Authz', 1000, 'usd', 1000, 'flexible')",
        listing_id,
    )
    start = datetime(2033, 2, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-owner", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, Outbox("booking", "booking")), cmd)
    return str(booking["booking_id"])


def bearer(sub: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub, role)}"}


@pytest.mark.parametrize(
    ("sub", "role", "status"),
    [
        ("guest-owner", Role.GUEST, 200),
        ("guest-other", Role.GUEST, 404),
        ("host-owner", Role.HOST, 200),
        ("host-other", Role.HOST, 404),
        ("guest-owner", Role.HOST, 404),  # same subject, wrong role
        ("ops-1", Role.ADMIN, 200),
        ("trust-1", Role.TRUST, 200),  # trust & safety staff read any booking
    ],
)
async def test_booking_visibility_matrix(
    gateway: httpx.AsyncClient, booking_id: str, sub: str, role: Role, status: int
) -> None:
    response = await gateway.get(f"/v1/bookings/{booking_id}", headers=bearer(sub, role))
    assert response.status_code == status, response.text
    if status == 404:
        assert response.json()["error"]["code"] == "booking_not_found"


async def test_hidden_and_missing_bookings_answer_identically(
    gateway: httpx.AsyncClient, booking_id: str
) -> None:
    hidden = await gateway.get(
        f"/v1/bookings/{booking_id}", headers=bearer("guest-other", Role.GUEST)
    )
    missing_id = uuid.uuid4()
    missing = await gateway.get(
        f"/v1/bookings/{missing_id}", headers=bearer("guest-other", Role.GUEST)
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"]


@pytest.mark.parametrize("role", [Role.HOST, Role.ADMIN, Role.TRUST])
async def test_only_guests_place_bookings(gateway: httpx.AsyncClient, role: Role) -> None:
    response = await gateway.post(
        "/v1/bookings",
        headers=bearer("someone", role),
        json={
            "listing_id": "lst_loft_01",
            "starts_at": "2033-01-01T10:00:00Z",
            "ends_at": "2033-01-01T11:00:00Z",
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_requests_without_a_valid_token_are_unauthenticated(
    gateway: httpx.AsyncClient, booking_id: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        response = await gateway.get(f"/v1/bookings/{booking_id}", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


@pytest.fixture
async def group_id(booking_pool: asyncpg.Pool) -> str:
    listings = []
    for n in range(2):
        listing_id = f"lst_authz_g{n}_{uuid.uuid4().hex[:8]}"
        await booking_pool.execute(
            "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, "
            "hourly_rate, currency, platform_fee_bps, cancellation_policy) VALUES "
            "($1, 'host-owner', 'acct_owner', 'Authz', 1000, 'usd', 1000, 'flexible')",
            listing_id,
        )
        listings.append(listing_id)
    start = datetime(2033, 3, 1, 9, tzinfo=UTC)
    legs = tuple(LegRequest(lst, start, start + timedelta(hours=1)) for lst in listings)
    async with booking_pool.acquire() as conn, conn.transaction():
        group = await place_group(
            UnitOfWork(conn, Outbox("booking", "booking")),
            PlaceGroup("guest-owner", legs, "pm_card_visa"),
        )
    return str(group["group_id"])


@pytest.mark.parametrize(
    ("sub", "role", "status"),
    [
        ("guest-owner", Role.GUEST, 200),
        ("guest-other", Role.GUEST, 404),
        # A host sees its leg (GET /v1/bookings/{id}), never the group: it names other hosts'
        # bookings.
        ("host-owner", Role.HOST, 404),
        ("guest-owner", Role.HOST, 404),
        ("ops-1", Role.ADMIN, 200),
        ("trust-1", Role.TRUST, 200),
    ],
)
async def test_group_visibility_matrix(
    gateway: httpx.AsyncClient, group_id: str, sub: str, role: Role, status: int
) -> None:
    response = await gateway.get(f"/v1/checkout-groups/{group_id}", headers=bearer(sub, role))
    assert response.status_code == status, response.text
    if status == 404:
        assert response.json()["error"]["code"] == "group_not_found"
        missing = await gateway.get(
            f"/v1/checkout-groups/{uuid.uuid4()}", headers=bearer(sub, role)
        )
        assert missing.status_code == 404  # a hidden group answers like a missing one
        assert missing.json()["error"]["code"] == "group_not_found"
    else:
        assert len(response.json()["legs"]) == 2


async def test_a_host_sees_and_answers_its_own_leg_only(
    gateway: httpx.AsyncClient, group_id: str, booking_pool: asyncpg.Pool
) -> None:
    leg = await booking_pool.fetchval(
        "SELECT booking_id FROM booking.bookings WHERE group_id = $1 LIMIT 1", uuid.UUID(group_id)
    )
    own = await gateway.get(f"/v1/bookings/{leg}", headers=bearer("host-owner", Role.HOST))
    assert own.status_code == 200 and own.json()["group_id"] == group_id
    other = await gateway.post(
        f"/v1/bookings/{leg}/accept", headers=bearer("host-other", Role.HOST)
    )
    assert other.status_code == 404


@pytest.mark.parametrize("role", [Role.HOST, Role.ADMIN, Role.TRUST])
async def test_only_guests_place_groups(gateway: httpx.AsyncClient, role: Role) -> None:
    leg = {"listing_id": "lst_loft_01", "starts_at": "2033-01-01T10:00:00Z"}
    response = await gateway.post(
        "/v1/checkout-groups",
        headers=bearer("someone", role),
        json={
            "legs": [{**leg, "ends_at": "2033-01-01T11:00:00Z"}] * 2,
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_a_group_of_one_leg_is_refused_with_a_code(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post(
        "/v1/checkout-groups",
        headers=bearer("guest-owner", Role.GUEST),
        json={
            "legs": [
                {
                    "listing_id": "lst_loft_01",
                    "starts_at": "2033-01-01T10:00:00Z",
                    "ends_at": "2033-01-01T11:00:00Z",
                }
            ],
            "payment_method": "pm_card_visa",
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"


async def test_admins_publish_policy_versions_and_checkouts_snapshot_the_newest(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool
) -> None:
    name = f"custom-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "bands": [{"hours_before": 72, "refund_bps": 7500}]}
    refused = await gateway.post(
        "/v1/cancellation-policies", json=body, headers=bearer("host-owner", Role.HOST)
    )
    assert refused.status_code == 403
    admin = bearer("ops-1", Role.ADMIN)
    first = await gateway.post("/v1/cancellation-policies", json=body, headers=admin)
    assert first.status_code == 201 and first.json()["version"] == 1
    body["bands"].append({"hours_before": 12, "refund_bps": 2500})
    second = await gateway.post("/v1/cancellation-policies", json=body, headers=admin)
    assert second.status_code == 201 and second.json()["version"] == 2
    odd = {
        "name": name,
        "bands": [{"hours_before": 48, "refund_bps": 10}, {"hours_before": 1, "refund_bps": 9000}],
    }
    invalid = await gateway.post("/v1/cancellation-policies", json=odd, headers=admin)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_failed"

    listing_id = f"lst_pol_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-owner', 'acct_owner', 'Pol', 1000, 'usd', 1000, $2)",
        listing_id,
        name,
    )
    start = datetime(2033, 4, 1, 9, tzinfo=UTC)
    cmd = PlaceBooking("guest-owner", listing_id, start, start + timedelta(hours=1), "pm_card_visa")
    async with booking_pool.acquire() as conn, conn.transaction():
        booking = await place_booking(UnitOfWork(conn, Outbox("booking", "booking")), cmd)
    assert (booking["policy"]["name"], booking["policy"]["version"]) == (name, 2)
    listed = await gateway.get("/v1/cancellation-policies", headers=admin)
    assert {"flexible", "moderate", "strict", name} <= {p["name"] for p in listed.json()}
