"""A host's inbox of requests (`GET /v1/host/requests`), and the caller's invites and booking
groups (`GET /v1/invites`, `GET /v1/checkout-groups`), on the real database: each caller sees
their own only, in a stable order, page by page."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest

from tests.support.gateway_lists import World, bearer, every_page, gateway_client

pytestmark = pytest.mark.integration


@pytest.fixture
async def fresh(booking_pool: asyncpg.Pool) -> AsyncIterator[World]:
    """Unique names for this test; its holds expire afterwards."""
    world = World()
    yield world
    await world.expire_holds(booking_pool)


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(booking_pool) as client:
        yield client


@pytest.fixture
async def inbox(booking_pool: asyncpg.Pool, fresh: World) -> tuple[World, list[str], str]:
    """host-r's five waiting requests (made in a shuffled order of their windows), plus rows
    that are not in its inbox: a request still waiting for its payment, an Instant Book, and
    host-s's waiting request."""
    world = fresh
    asks = await world.listing(booking_pool, "host-r", instant=False)
    instant = await world.listing(booking_pool, "host-r")
    other = await world.listing(booking_pool, "host-s", instant=False)
    by_window = {}
    for hours in (5, 1, 3, 2, 4):
        by_window[hours] = await world.waiting_request(
            booking_pool, "guest-r", asks, timedelta(hours=hours)
        )
    async with booking_pool.acquire() as conn, conn.transaction():
        await world.booking(conn, "guest-r", asks, response_window=timedelta(minutes=30))
    await world.bookings(booking_pool, "guest-r", instant)
    others = await world.waiting_request(booking_pool, "guest-r", other, timedelta(minutes=90))
    return world, [by_window[h] for h in sorted(by_window)], others


async def test_a_hosts_inbox_lists_its_waiting_requests_soonest_deadline_first(
    gateway: httpx.AsyncClient, inbox: tuple[World, list[str], str]
) -> None:
    world, soonest_first, _ = inbox
    items = await every_page(
        gateway, "/v1/host/requests", bearer(world.name("host-r"), "host"), limit=2
    )
    assert [i["booking_id"] for i in items] == soonest_first
    assert {i["status"] for i in items} == {"awaiting_host"}
    deadlines = [i["respond_by"] for i in items]
    assert deadlines == sorted(deadlines)


async def test_other_hosts_and_guests_never_see_the_inbox(
    gateway: httpx.AsyncClient, inbox: tuple[World, list[str], str]
) -> None:
    world, _, others = inbox
    host_s = await every_page(gateway, "/v1/host/requests", bearer(world.name("host-s"), "host"))
    assert [i["booking_id"] for i in host_s] == [others]
    widened = await gateway.get(
        "/v1/host/requests",
        headers=bearer(world.name("host-s"), "host"),
        params={"host_id": world.name("host-r")},
    )
    assert widened.json() == {"data": [], "next_cursor": None}
    guest = await gateway.get("/v1/host/requests", headers=bearer(world.name("guest-r"), "guest"))
    assert guest.status_code == 403
    assert guest.json()["error"]["code"] == "forbidden"
    assert "needs one of ['host', 'admin', 'trust']" in guest.json()["error"]["message"]


async def test_staff_see_any_hosts_inbox(
    gateway: httpx.AsyncClient, inbox: tuple[World, list[str], str]
) -> None:
    world, soonest_first, _ = inbox
    for sub, role in (("ops-1", "admin"), ("trust-1", "trust")):
        items = await every_page(
            gateway,
            "/v1/host/requests",
            bearer(sub, role),
            host_id=world.name("host-r"),
            limit=3,
        )
        assert [i["booking_id"] for i in items] == soonest_first


async def test_an_answered_request_leaves_the_inbox(
    gateway: httpx.AsyncClient, inbox: tuple[World, list[str], str]
) -> None:
    world, soonest_first, _ = inbox
    host = bearer(world.name("host-r"), "host")
    first = await gateway.get("/v1/host/requests", headers=host, params={"limit": 2})
    accepted = await gateway.post(f"/v1/bookings/{soonest_first[0]}/accept", headers=host)
    assert accepted.status_code == 200, accepted.text
    declined = await gateway.post(f"/v1/bookings/{soonest_first[3]}/decline", headers=host)
    assert declined.status_code == 200, declined.text
    # The page after the first one's cursor goes on where it stopped.
    rest = await every_page(
        gateway, "/v1/host/requests", host, cursor=first.json()["next_cursor"], limit=2
    )
    assert [i["booking_id"] for i in rest] == [soonest_first[2], soonest_first[4]]
    now = await every_page(gateway, "/v1/host/requests", host)
    assert [i["booking_id"] for i in now] == [soonest_first[n] for n in (1, 2, 4)]


async def test_the_inbox_filters_by_listing(
    gateway: httpx.AsyncClient, inbox: tuple[World, list[str], str], booking_pool: asyncpg.Pool
) -> None:
    world, soonest_first, _ = inbox
    listing = await booking_pool.fetchval(
        "SELECT listing_id FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(soonest_first[0]),
    )
    host = bearer(world.name("host-r"), "host")
    same = await every_page(gateway, "/v1/host/requests", host, listing_id=listing)
    assert [i["booking_id"] for i in same] == soonest_first
    elsewhere = await every_page(gateway, "/v1/host/requests", host, listing_id="lst_elsewhere")
    assert elsewhere == []


@pytest.fixture
async def invites(booking_pool: asyncpg.Pool, fresh: World) -> tuple[World, dict[str, list[str]]]:
    """host-i invited guest-x twice and guest-y once; host-j invited guest-x once."""
    world = fresh
    i_listing = await world.listing(booking_pool, "host-i")
    j_listing = await world.listing(booking_pool, "host-j")
    made = {
        "i_x": [await world.invite(booking_pool, "host-i", "guest-x", i_listing) for _ in "ab"],
        "i_y": [await world.invite(booking_pool, "host-i", "guest-y", i_listing)],
        "j_x": [await world.invite(booking_pool, "host-j", "guest-x", j_listing)],
    }
    return world, made


@pytest.mark.parametrize(
    ("sub", "role", "params", "expected"),
    [
        ("guest-x", "guest", {}, ["i_x", "j_x"]),
        ("guest-y", "guest", {}, ["i_y"]),
        ("host-i", "host", {}, ["i_x", "i_y"]),
        ("host-j", "host", {}, ["j_x"]),
        ("guest-z", "guest", {}, []),
        ("host-i", "guest", {}, []),
        ("guest-y", "guest", {"guest_id": "guest-x"}, []),
        ("host-j", "host", {"host_id": "host-i"}, []),
        ("ops-1", "admin", {"guest_id": "guest-x"}, ["i_x", "j_x"]),
        ("trust-1", "trust", {"host_id": "host-i", "guest_id": "guest-y"}, ["i_y"]),
    ],
)
async def test_each_caller_lists_their_own_invites_only(
    gateway: httpx.AsyncClient,
    invites: tuple[World, dict[str, list[str]]],
    sub: str,
    role: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    world, made = invites
    query = {key: world.name(value) for key, value in params.items()}
    items = await every_page(
        gateway, "/v1/invites", bearer(world.name(sub), role), limit=1, **query
    )
    assert sorted(i["invite_id"] for i in items) == sorted(v for k in expected for v in made[k])
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)  # newest first


async def test_invites_filter_by_status(
    gateway: httpx.AsyncClient,
    invites: tuple[World, dict[str, list[str]]],
    booking_pool: asyncpg.Pool,
) -> None:
    world, made = invites
    withdrawn = made["i_x"][0]
    response = await gateway.post(
        f"/v1/invites/{withdrawn}/withdraw", headers=bearer(world.name("host-i"), "host")
    )
    assert response.status_code == 200, response.text
    guest = bearer(world.name("guest-x"), "guest")
    still_open = await every_page(gateway, "/v1/invites", guest, status="open")
    assert sorted(i["invite_id"] for i in still_open) == sorted([made["i_x"][1], *made["j_x"]])
    gone = await every_page(gateway, "/v1/invites", guest, status="withdrawn")
    assert [i["invite_id"] for i in gone] == [withdrawn]
    bad = await gateway.get("/v1/invites", headers=guest, params={"status": "confirmed"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_failed"


@pytest.fixture
async def groups(booking_pool: asyncpg.Pool, fresh: World) -> tuple[World, dict[str, list[str]]]:
    """guest-x made two groups, guest-y one; every leg is on host-g's listings."""
    world = fresh
    listings = [await world.listing(booking_pool, "host-g") for _ in range(2)]
    made = {
        "x": [await world.group(booking_pool, "guest-x", listings) for _ in range(2)],
        "y": [await world.group(booking_pool, "guest-y", listings)],
    }
    return world, made


async def test_each_guest_lists_their_own_groups_with_their_legs(
    gateway: httpx.AsyncClient, groups: tuple[World, dict[str, list[str]]]
) -> None:
    world, made = groups
    x = await every_page(
        gateway, "/v1/checkout-groups", bearer(world.name("guest-x"), "guest"), limit=1
    )
    assert [g["group_id"] for g in x] == made["x"][::-1]  # newest first
    assert all(len(g["legs"]) == 2 for g in x)
    assert {leg["guest_id"] for g in x for leg in g["legs"]} == {world.name("guest-x")}
    y = await every_page(gateway, "/v1/checkout-groups", bearer(world.name("guest-y"), "guest"))
    assert [g["group_id"] for g in y] == made["y"]
    nobody = await every_page(
        gateway, "/v1/checkout-groups", bearer(world.name("guest-z"), "guest")
    )
    assert nobody == []


async def test_staff_list_any_guests_groups_and_hosts_none(
    gateway: httpx.AsyncClient, groups: tuple[World, dict[str, list[str]]]
) -> None:
    world, made = groups
    staff = await every_page(
        gateway, "/v1/checkout-groups", bearer("ops-1", "admin"), guest_id=world.name("guest-y")
    )
    assert [g["group_id"] for g in staff] == made["y"]
    pending = await every_page(
        gateway,
        "/v1/checkout-groups",
        bearer("trust-1", "trust"),
        guest_id=world.name("guest-x"),
        status=["pending_payment", "awaiting_signatures"],
    )
    assert sorted(g["group_id"] for g in pending) == sorted(made["x"])
    confirmed = await every_page(
        gateway,
        "/v1/checkout-groups",
        bearer("trust-1", "trust"),
        guest_id=world.name("guest-x"),
        status="confirmed",
    )
    assert confirmed == []
    host = await gateway.get("/v1/checkout-groups", headers=bearer(world.name("host-g"), "host"))
    assert host.status_code == 403 and host.json()["error"]["code"] == "forbidden"
