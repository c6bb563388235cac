"""Malformed and extreme input at the gateway: a 4xx with a code, never a 500, nothing held.

The gateway runs in process (HTTP + database, no lifespan) with `raise_app_exceptions=False`,
so an unhandled exception would show up here as the 500 a client gets.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.entrypoints.auth import Role, issue_token

pytestmark = pytest.mark.integration
SECRET = "edge-validation-secret-long-enough-1"
INT64_MAX = 2**63 - 1
START = (datetime.now(UTC) + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def gateway(booking_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(build_runtime(BookingSettings(jwt_secret=SECRET)))
    app.state.runtime = SimpleNamespace(db=booking_pool)  # no lifespan: HTTP + database only
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def _listing(pool: asyncpg.Pool, hourly_rate: int, max_hours: int | None = None) -> str:
    listing_id = f"lst_edge_{uuid.uuid4().hex[:8]}"
    await pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, max_hours) "
        "VALUES ($1, 'host-edge', 'acct_edge', 'Edge', $2, 'usd', 1000, 'flexible', $3)",
        listing_id,
        hourly_rate,
        max_hours,
    )
    return listing_id


@pytest.fixture
async def listing(booking_pool: asyncpg.Pool) -> str:
    return await _listing(booking_pool, 4500, max_hours=48)


@pytest.fixture
def guest() -> str:
    return f"guest-edge-{uuid.uuid4().hex[:8]}"


def bearer(sub: str, role: Role = Role.GUEST) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub, role)}"}


def booking(listing: str, **changes: Any) -> dict[str, Any]:
    body = {
        "listing_id": listing,
        "starts_at": iso(START),
        "ends_at": iso(START + timedelta(hours=2)),
        "payment_method": "pm_card_visa",
    }
    return {**body, **changes}


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


async def nothing_held(pool: asyncpg.Pool, guest: str) -> None:
    for table in ("bookings", "quotes", "checkout_groups"):
        count = await pool.fetchval(
            f"SELECT count(*) FROM booking.{table} WHERE guest_id = $1", guest
        )
        assert count == 0, f"{table}: {count} row(s) for {guest}"


BAD_BOOKINGS: list[tuple[str, dict[str, Any]]] = [
    ("nul in listing id", {"listing_id": "lst\x00x"}),
    ("nul in payment method", {"payment_method": "pm_card\x00visa"}),
    ("control character", {"payment_method": "pm_card_\x1bvisa"}),
    ("huge string", {"listing_id": "x" * 100_000}),
    ("guests int64+1", {"guests": INT64_MAX + 1}),
    ("guests int64", {"guests": INT64_MAX}),
    ("guests negative", {"guests": -1}),
    ("guests zero", {"guests": 0}),
    ("guests float", {"guests": 2.0}),
    ("guests string", {"guests": "2"}),
    ("guests bool", {"guests": True}),
    ("extras huge quantity", {"extras": {"lights": 2**64}}),
    ("extras int64+1", {"extras": {"lights": INT64_MAX + 1}}),
    ("extras nul key", {"extras": {"li\x00ghts": 1}}),
    ("extras too many", {"extras": {f"x{i}": 1 for i in range(50)}}),
    ("year 2999", {"ends_at": "2999-01-01T00:00:00Z"}),
    ("year 9999 with offset", {"starts_at": "9999-12-31T23:45:00-05:00"}),
    ("year 1", {"starts_at": "0001-01-01T00:00:00+05:00"}),
    ("naive time", {"starts_at": "2027-03-01T10:00:00"}),
    ("unix seconds", {"starts_at": int(START.timestamp())}),
    ("unix seconds float", {"ends_at": START.timestamp() + 7200.0}),
    ("unknown field", {"surprise": True}),
    ("wrong type", {"listing_id": 5}),
    ("null listing", {"listing_id": None}),
    ("payment method list", {"payment_method": ["pm_card_visa"]}),
]


@pytest.mark.parametrize(("case", "changes"), BAD_BOOKINGS, ids=[c for c, _ in BAD_BOOKINGS])
async def test_malformed_bookings_are_422_and_hold_nothing(
    gateway: httpx.AsyncClient,
    booking_pool: asyncpg.Pool,
    listing: str,
    guest: str,
    case: str,
    changes: dict[str, Any],
) -> None:
    response = await gateway.post(
        "/v1/bookings", json=booking(listing, **changes), headers=bearer(guest)
    )
    assert_refused(response, 422, "validation_failed")
    assert response.json()["error"]["details"], case
    await nothing_held(booking_pool, guest)


@pytest.mark.parametrize(
    ("case", "ends", "code"),
    [
        ("ten years", START + timedelta(days=3650), "beyond_booking_horizon"),
        ("past the listing maximum", START + timedelta(hours=49), "above_maximum_duration"),
        ("zero length", START, "invalid_time_range"),
        ("reversed", START - timedelta(hours=2), "invalid_time_range"),
    ],
)
async def test_unbookable_time_ranges_are_refused_with_their_code(
    gateway: httpx.AsyncClient,
    booking_pool: asyncpg.Pool,
    listing: str,
    guest: str,
    case: str,
    ends: datetime,
    code: str,
) -> None:
    body = booking(listing, ends_at=iso(ends))
    for path in ("/v1/bookings", "/v1/quotes"):
        payload = body if path == "/v1/bookings" else {**body, "payment_method": None}
        payload = {k: v for k, v in payload.items() if v is not None}
        response = await gateway.post(path, json=payload, headers=bearer(guest))
        assert_refused(response, 422, code)
    await nothing_held(booking_pool, guest)


async def test_a_stay_in_the_past_is_neither_quoted_nor_booked(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, listing: str, guest: str
) -> None:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    body = booking(listing, starts_at=iso(start), ends_at=iso(start + timedelta(hours=2)))
    for path in ("/v1/bookings", "/v1/quotes"):
        payload = body if path == "/v1/bookings" else {**body, "payment_method": None}
        payload = {k: v for k, v in payload.items() if v is not None}
        assert_refused(
            await gateway.post(path, json=payload, headers=bearer(guest)), 422, "invalid_time_range"
        )
    await nothing_held(booking_pool, guest)


async def test_a_start_beyond_the_horizon_is_refused(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, listing: str, guest: str
) -> None:
    start = START + timedelta(days=400)
    body = booking(listing, starts_at=iso(start), ends_at=iso(start + timedelta(hours=2)))
    response = await gateway.post("/v1/bookings", json=body, headers=bearer(guest))
    assert_refused(response, 422, "beyond_booking_horizon")
    await nothing_held(booking_pool, guest)


async def test_totals_beyond_the_processor_limits_are_refused_before_anything_is_held(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, guest: str
) -> None:
    dear = await _listing(booking_pool, 90_000_000)  # $900,000 an hour
    cheap = await _listing(booking_pool, 20)  # 20 cents an hour
    too_large = await gateway.post("/v1/bookings", json=booking(dear), headers=bearer(guest))
    assert_refused(too_large, 422, "amount_too_large")
    quote = {k: v for k, v in booking(dear).items() if k != "payment_method"}
    assert_refused(
        await gateway.post("/v1/quotes", json=quote, headers=bearer(guest)),
        422,
        "amount_too_large",
    )
    too_small = await gateway.post("/v1/bookings", json=booking(cheap), headers=bearer(guest))
    assert_refused(too_small, 422, "amount_too_small")
    await nothing_held(booking_pool, guest)


async def test_a_group_whose_total_exceeds_one_charge_is_refused(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool, guest: str
) -> None:
    dear = await _listing(booking_pool, 30_000_000, max_hours=48)  # each leg below the limit
    legs = [
        {"listing_id": dear, "starts_at": iso(START + timedelta(days=d)), "ends_at": iso(end)}
        for d, end in ((0, START + timedelta(hours=2)), (1, START + timedelta(days=1, hours=2)))
    ]
    body = {"legs": legs, "payment_method": "pm_card_visa"}
    response = await gateway.post("/v1/checkout-groups", json=body, headers=bearer(guest))
    assert_refused(response, 422, "amount_too_large")
    await nothing_held(booking_pool, guest)


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"amount": 10**12}, 422, "amount_too_large"),  # $10 billion
        ({"amount": 30}, 422, "amount_too_small"),
        ({"amount": INT64_MAX + 1}, 422, "validation_failed"),
        ({"amount": 1.5}, 422, "validation_failed"),
        ({"note": "hello\x00"}, 422, "validation_failed"),
        (
            {"extras": [{"name": "kit", "unit_amount": 100_000_000, "quantity": 1000}]},
            422,
            "amount_too_large",
        ),
        ({"expires_at": "2999-01-01T00:00:00Z"}, 422, "validation_failed"),
        # open past its own start: accepting it would book a stay already under way
        ({"expires_at": iso(START + timedelta(hours=1))}, 422, "invalid_time_range"),
    ],
)
async def test_invites_refuse_absurd_prices_and_text(
    gateway: httpx.AsyncClient,
    booking_pool: asyncpg.Pool,
    listing: str,
    changes: dict[str, Any],
    status: int,
    code: str,
) -> None:
    body = {
        "guest_id": "guest-1",
        "listing_id": listing,
        "starts_at": iso(START),
        "ends_at": iso(START + timedelta(hours=2)),
        "expires_at": iso(START - timedelta(days=1)),
        **changes,
    }
    response = await gateway.post("/v1/invites", json=body, headers=bearer("host-edge", Role.HOST))
    assert_refused(response, status, code)
    count = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.invites WHERE listing_id = $1", listing
    )
    assert count == 0


@pytest.mark.parametrize(
    ("path", "body", "role"),
    [
        ("/v1/bookings/{uuid}/amendments", {"ends_at": "2999-01-01T00:00:00Z"}, Role.GUEST),
        ("/v1/bookings/{uuid}/overtime", {"minutes": INT64_MAX + 1}, Role.HOST),
        ("/v1/bookings/{uuid}/overtime", {"minutes": 60.0}, Role.HOST),
        ("/v1/bookings/{uuid}/cancel", {"reason": "x" * 10_000}, Role.GUEST),
        ("/v1/bookings/{uuid}/cancel", {"reason": "no\x00"}, Role.GUEST),
        ("/v1/bookings/{uuid}/decline", {"reason": "\x00"}, Role.HOST),
        ("/v1/claims/{uuid}/decide", {"amount": 2**64}, Role.ADMIN),
        ("/v1/claims/{uuid}/contest", {"reason": "\x07bell"}, Role.GUEST),
        ("/v1/cancellation-policies", {"name": "p\x00", "bands": []}, Role.ADMIN),
        ("/v1/cancellation-policies", {"name": "no-bands", "bands": []}, Role.ADMIN),
        (
            "/v1/cancellation-policies",
            {"name": "huge", "bands": [{"hours_before": INT64_MAX + 1, "refund_bps": 1}]},
            Role.ADMIN,
        ),
    ],
)
async def test_other_operations_refuse_malformed_bodies(
    gateway: httpx.AsyncClient, path: str, body: dict[str, Any], role: Role
) -> None:
    response = await gateway.post(
        path.format(uuid=uuid.uuid4()), json=body, headers=bearer("someone", role)
    )
    assert_refused(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"listing_id": ', "application/json", 400, "malformed_json"),
        (b"\xff\xfe\x00", "application/json", 400, "malformed_json"),
        (b"", "application/json", 422, "validation_failed"),
        (b"[]", "application/json", 422, "validation_failed"),
        (b"listing_id=lst", "application/x-www-form-urlencoded", 422, "validation_failed"),
        (b'{"listing_id": "lst"}', "text/plain", 422, "validation_failed"),
    ],
)
async def test_unreadable_bodies_get_the_error_body(
    gateway: httpx.AsyncClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {**bearer("guest-raw"), "Content-Type": content_type}
    response = await gateway.post("/v1/bookings", content=content, headers=headers)
    assert_refused(response, status, code)


async def test_headers_and_path_parameters_are_bounded(gateway: httpx.AsyncClient) -> None:
    long_key = {**bearer("guest-h"), "Idempotency-Key": "k" * 300}
    response = await gateway.post("/v1/quotes", json={}, headers=long_key)
    assert_refused(response, 422, "validation_failed")
    response = await gateway.get("/v1/receipts/rcpt%00x", headers=bearer("guest-h"))
    assert_refused(response, 422, "validation_failed")
    response = await gateway.get(
        f"/v1/claims/{uuid.uuid4()}/evidence/{2**70}", headers=bearer("guest-h")
    )
    assert_refused(response, 422, "validation_failed")


async def test_unknown_routes_and_methods_get_the_error_body(gateway: httpx.AsyncClient) -> None:
    assert_refused(await gateway.get("/v1/nope"), 404, "not_found")
    assert_refused(await gateway.delete("/v1/bookings"), 405, "method_not_allowed")


async def test_html_routes_answer_html_errors(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/receipts/rcpt_missing/html")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "unauthenticated" in response.text
    response = await gateway.get("/v1/receipts/rcpt_missing/html", headers=bearer("guest-x"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "receipt_not_found" in response.text
    response = await gateway.get("/v1/receipts/rcpt_<script>/html", headers=bearer("guest-x"))
    assert response.status_code == 422
    assert "<script>" not in response.text


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": "500", "description": "broken\x00lamp"},
        {"amount": str(2**64), "description": "broken lamp"},
        {"amount": "5.5", "description": "broken lamp"},
        {"amount": "100.0", "description": "broken lamp"},
        {"amount": "1e2", "description": "broken lamp"},
        {"amount": "+100", "description": "broken lamp"},
        {"amount": "500", "description": "x" * 6000},
    ],
)
async def test_claims_refuse_malformed_multipart_fields(
    gateway: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    response = await gateway.post(
        f"/v1/bookings/{uuid.uuid4()}/claims",
        data=fields,
        files={"evidence": ("photo.png", b"\x89PNG", "image/png")},
        headers=bearer("host-edge", Role.HOST),
    )
    assert_refused(response, 422, "validation_failed")


@pytest.mark.parametrize("amount", ["100", 100.0, 1e2, True, None])
async def test_a_json_claim_takes_a_json_integer_only(
    gateway: httpx.AsyncClient, amount: object
) -> None:
    response = await gateway.post(
        f"/v1/bookings/{uuid.uuid4()}/claims",
        json={"amount": amount, "description": "broken lamp"},
        headers=bearer("host-edge", Role.HOST),
    )
    assert_refused(response, 422, "validation_failed")


async def test_an_urlencoded_claim_is_read_as_a_form_not_a_server_error(
    gateway: httpx.AsyncClient,
) -> None:
    path = f"/v1/bookings/{uuid.uuid4()}/claims"
    bad = await gateway.post(
        path, data={"amount": "abc", "description": "x"}, headers=bearer("host-edge", Role.HOST)
    )
    assert_refused(bad, 422, "validation_failed")
    # Read and valid: the booking is then looked up (none has this id).
    good = await gateway.post(
        path, data={"amount": "100", "description": "x"}, headers=bearer("host-edge", Role.HOST)
    )
    assert good.status_code == 404, good.text


async def test_a_stored_policy_without_bands_is_listed_not_a_500(
    gateway: httpx.AsyncClient, booking_pool: asyncpg.Pool
) -> None:
    """A version published before a policy needed a band: the list still serves, with it."""
    name = f"no-bands-{uuid.uuid4().hex[:8]}"
    definition = {"name": name, "version": 1, "bands": [], "grace_hours": 24,
                  "grace_min_lead_hours": 48, "service_fee": "grace_only",
                  "host_penalty_bps": 1000}  # fmt: skip
    await booking_pool.execute(
        "INSERT INTO booking.cancellation_policies (name, version, definition) VALUES ($1, 1, $2)",
        name,
        definition,
    )
    try:
        listed = await gateway.get("/v1/cancellation-policies", headers=bearer("g-1"))
        assert listed.status_code == 200, listed.text
        [shown] = [p for p in listed.json() if p["name"] == name]
        assert shown["bands"] == [] and shown["version"] == 1
    finally:
        await booking_pool.execute(
            "DELETE FROM booking.cancellation_policies WHERE name = $1", name
        )
