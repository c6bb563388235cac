"""`GET /v1/bookings` on the real database: each caller sees their own bookings only, the
filters narrow, and the pages neither repeat nor skip a booking while new ones arrive."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.support.gateway_lists import World, bearer, every_page, gateway_client

pytestmark = pytest.mark.integration
Made = dict[str, list[str]]


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
async def world(booking_pool: asyncpg.Pool, fresh: World) -> tuple[World, Made]:
    """host-a has two listings, host-b one; guest-1 booked both hosts, guest-2 host-a."""
    world = fresh
    a1 = await world.listing(booking_pool, "host-a")
    a2 = await world.listing(booking_pool, "host-a")
    b = await world.listing(booking_pool, "host-b")
    made = {
        "g1_a": await world.bookings(booking_pool, "guest-1", a1, 3),
        "g1_b": await world.bookings(booking_pool, "guest-1", b),
        "g2_a": await world.bookings(booking_pool, "guest-2", a2, 2),
        "listings": [a1, a2, b],
    }
    return world, made


@pytest.mark.parametrize(
    ("sub", "role", "params", "expected"),
    [
        ("guest-1", "guest", {}, ["g1_a", "g1_b"]),
        ("guest-2", "guest", {}, ["g2_a"]),
        ("host-a", "host", {}, ["g1_a", "g2_a"]),
        ("host-b", "host", {}, ["g1_b"]),
        ("guest-3", "guest", {}, []),
        ("host-a", "guest", {}, []),  # the same subject in another role owns nothing
        ("guest-1", "host", {}, []),
        # Filters narrow what the caller may see and never widen it.
        ("guest-1", "guest", {"guest_id": "guest-2"}, []),
        ("host-a", "host", {"host_id": "host-b"}, []),
        ("guest-1", "guest", {"host_id": "host-b"}, ["g1_b"]),
        ("host-a", "host", {"guest_id": "guest-2"}, ["g2_a"]),
        # Staff see everyone's, narrowed by guest or host.
        ("ops-1", "admin", {"guest_id": "guest-1"}, ["g1_a", "g1_b"]),
        ("trust-1", "trust", {"host_id": "host-a"}, ["g1_a", "g2_a"]),
        ("ops-1", "admin", {"guest_id": "guest-1", "host_id": "host-a"}, ["g1_a"]),
    ],
)
async def test_each_caller_lists_their_own_bookings_only(
    gateway: httpx.AsyncClient,
    world: tuple[World, Made],
    sub: str,
    role: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    w, made = world
    query = {key: w.name(value) for key, value in params.items()}
    items = await every_page(gateway, "/v1/bookings", bearer(w.name(sub), role), limit=2, **query)
    assert sorted(i["booking_id"] for i in items) == sorted(b for k in expected for b in made[k])


async def test_staff_without_filters_see_every_guests_bookings(
    gateway: httpx.AsyncClient, world: tuple[World, Made]
) -> None:
    w, made = world
    response = await gateway.get("/v1/bookings", headers=bearer("ops-1", "admin"))
    assert response.status_code == 200
    # Newest first: this test's bookings are the newest in the database but for other tests
    # running at the same time; all six are among the newest hundred.
    newest = await gateway.get(
        "/v1/bookings", headers=bearer("ops-1", "admin"), params={"limit": 100}
    )
    listed = {i["booking_id"] for i in newest.json()["data"]}
    assert {b for k in ("g1_a", "g1_b", "g2_a") for b in made[k]} <= listed
    assert {i["guest_id"] for i in newest.json()["data"]} >= {w.name("guest-1"), w.name("guest-2")}


async def test_items_are_shown_as_the_booking_route_shows_them_to_the_same_caller(
    gateway: httpx.AsyncClient, world: tuple[World, Made]
) -> None:
    w, made = world
    for sub, role in (("guest-1", "guest"), ("host-b", "host"), ("trust-1", "trust")):
        headers = bearer(w.name(sub), role)
        page = await gateway.get(
            "/v1/bookings", headers=headers, params={"guest_id": w.name("guest-1")}
        )
        listed = {i["booking_id"]: i for i in page.json()["data"]}
        one = await gateway.get(f"/v1/bookings/{made['g1_b'][0]}", headers=headers)
        assert listed[made["g1_b"][0]] == one.json()


async def test_filters_by_status_listing_and_start(
    gateway: httpx.AsyncClient, world: tuple[World, Made], booking_pool: asyncpg.Pool
) -> None:
    w, made = world
    confirmed = made["g1_a"][1]
    await booking_pool.execute(
        "UPDATE booking.bookings SET status = 'confirmed' WHERE booking_id = $1",
        uuid.UUID(confirmed),
    )
    guest = bearer(w.name("guest-1"), "guest")

    async def ids(**params: object) -> list[str]:
        response = await gateway.get("/v1/bookings", headers=guest, params=params)
        assert response.status_code == 200, response.text
        return [i["booking_id"] for i in response.json()["data"]]

    assert await ids(status="confirmed") == [confirmed]
    assert len(await ids(status=["confirmed", "pending_payment"])) == 4
    assert await ids(status="cancelled") == []
    assert await ids(listing_id=made["listings"][2]) == made["g1_b"]
    every = await every_page(gateway, "/v1/bookings", guest)
    starts = sorted(i["starts_at"] for i in every)
    # [starts_from, starts_to): the second and third stays.
    window = await ids(starts_from=starts[1], starts_to=starts[3])
    assert sorted(b["starts_at"] for b in every if b["booking_id"] in window) == starts[1:3]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"status": "nonsense"}, "validation_failed"),
        ({"limit": 0}, "validation_failed"),
        ({"limit": 101}, "validation_failed"),
        ({"limit": "2.5"}, "validation_failed"),
        ({"starts_from": "2035-01-01T00:00:00"}, "validation_failed"),  # no UTC offset
        ({"starts_from": "2999-01-01T00:00:00Z"}, "validation_failed"),
        ({"guest_id": "a b"}, "validation_failed"),
        ({"listing_id": "x" * 101}, "validation_failed"),
        ({"cursor": "not a cursor!"}, "validation_failed"),
        ({"cursor": "x" * 201}, "validation_failed"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "invalid_cursor"),
        (
            {"starts_from": "2035-02-01T00:00:00Z", "starts_to": "2035-01-01T00:00:00Z"},
            "invalid_time_range",
        ),
    ],
)
async def test_bad_filters_and_cursors_are_422_with_a_code(
    gateway: httpx.AsyncClient, params: dict[str, object], code: str
) -> None:
    response = await gateway.get("/v1/bookings", headers=bearer("g", "guest"), params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


async def test_a_cursor_of_another_list_is_refused(
    gateway: httpx.AsyncClient, world: tuple[World, Made]
) -> None:
    w, _ = world
    headers = bearer(w.name("guest-1"), "guest")
    first = await gateway.get("/v1/bookings", headers=headers, params={"limit": 1})
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    for path in ("/v1/invites", "/v1/checkout-groups"):
        response = await gateway.get(path, headers=headers, params={"cursor": cursor})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "path", ["/v1/bookings", "/v1/host/requests", "/v1/invites", "/v1/checkout-groups"]
)
async def test_every_list_needs_a_valid_token(gateway: httpx.AsyncClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        response = await gateway.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_pages_neither_repeat_nor_skip_while_bookings_arrive_and_change(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, fresh: World
) -> None:
    """Ten bookings share one `created_at` (one transaction): a page boundary falls among
    them, and the id breaks the tie. Between pages the guest books again and one booking
    still to come changes status; an offset-based page would list rows twice."""
    world = fresh
    listing = await world.listing(booking_pool, "host-p")
    before = await world.bookings(booking_pool, "guest-p", listing, 10)
    for _ in range(9):
        before += await world.bookings(booking_pool, "guest-p", listing)
    expected = [
        str(r["booking_id"])
        for r in await booking_pool.fetch(
            "SELECT booking_id FROM booking.bookings WHERE guest_id = $1 "
            "ORDER BY created_at DESC, booking_id DESC",
            world.name("guest-p"),
        )
    ]
    assert sorted(expected) == sorted(before)
    headers = bearer(world.name("guest-p"), "guest")
    listed: list[str] = []
    arrived: list[str] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = (await gateway.get("/v1/bookings", headers=headers, params=params)).json()
        listed += [i["booking_id"] for i in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        arrived += await world.bookings(booking_pool, "guest-p", listing, 2)
        await booking_pool.execute(
            "UPDATE booking.bookings SET status = 'failed' WHERE booking_id = $1",
            uuid.UUID(expected[-1]),
        )
    assert len(listed) == len(set(listed)), "a booking was listed twice"
    assert listed == expected  # every booking there from the start, in order, once
    assert not set(arrived) & set(listed)  # newer ones come before the first page
    assert len(arrived) == 2 * (len(expected) // 4)
    # The next walk starts with them, then everything else, each once.
    again = [i["booking_id"] for i in await every_page(gateway, "/v1/bookings", headers, limit=7)]
    assert sorted(again[: len(arrived)]) == sorted(arrived)
    assert again[len(arrived) :] == expected


async def test_the_openapi_document_names_every_status_of_every_list(
    gateway: httpx.AsyncClient,
) -> None:
    paths = (await gateway.get("/openapi.json")).json()["paths"]
    for path in ("/v1/bookings", "/v1/host/requests", "/v1/invites", "/v1/checkout-groups"):
        responses = paths[path]["get"]["responses"]
        assert set(responses) == {"200", "401", "403", "413", "422", "500", "503"}, path
        assert "invalid_cursor" in responses["422"]["description"], path
        page = responses["200"]["content"]["application/json"]["schema"]["$ref"]
        assert page.rsplit("/", 1)[1] in {"BookingPage", "InvitePage", "GroupPage"}


async def test_receipts_come_a_page_at_a_time_newest_first_to_their_guest_only(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, fresh: World
) -> None:
    guest, other = fresh.name("guest-r"), fresh.name("guest-s")
    made = []
    for n in range(5):  # two issued in the same instant: the id breaks the tie
        receipt_id = f"rcpt_{fresh.name('pay')}_{n}"
        await booking_pool.execute(
            "INSERT INTO booking.receipts (receipt_id, kind, guest_id, payment_id, amount, "
            "currency, platform_fee, tax, legs, method, lines, source_event_id, issued_at) "
            "VALUES ($1, 'payment', $2, $1, 1000, 'usd', 100, 0, '[]', '{}', '[]', $3, "
            "'2027-01-01T00:00:00Z'::timestamptz + make_interval(mins => $4))",
            receipt_id,
            guest,
            uuid.uuid4(),
            min(n, 3),
        )
        made.append(receipt_id)
    newest_first = [made[4], made[3], made[2], made[1], made[0]]
    mine = await every_page(gateway, "/v1/receipts", bearer(guest, "guest"), limit=2)
    assert [r["receipt_id"] for r in mine] == newest_first
    assert await every_page(gateway, "/v1/receipts", bearer(other, "guest")) == []
    admin = await every_page(gateway, "/v1/receipts", bearer("ops-1", "admin"), limit=100)
    assert {r["receipt_id"] for r in admin} >= set(made)
    for row_id in ("rcpt_\u0000x", "\ud800", 5, None, [1, 2], ""):  # an altered cursor's id
        raw = json.dumps(["c", "2027-01-01T00:03:00+00:00", row_id]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        wrong = await gateway.get(
            "/v1/receipts", headers=bearer(guest, "guest"), params={"cursor": cursor}
        )
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "invalid_cursor")
    host = await gateway.get("/v1/receipts", headers=bearer(guest, "host"))
    assert (host.status_code, host.json()["error"]["code"]) == (403, "forbidden")
