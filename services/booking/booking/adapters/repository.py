"""SQL for listings and bookings (asyncpg; every function runs on the caller's connection)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from booking.adapters import disputes
from booking.adapters.refunds_repository import REFUND_DOCUMENT
from eventkit.rows import compare_and_set, expect_changed

BOOKING_COLUMNS = (
    "booking_id, guest_id, listing_id, host_id, host_account_id, starts_at, ends_at, status, "
    "payment_status, amount, platform_fee, currency, payment_method, payment_id, "
    "failure_reason, failure_detail, correlation_id, version, created_at, updated_at, mode, "
    "respond_by, pay_by, payment_attempts, save_for_later, envelope_id, signing_url, group_id, "
    "quote, policy, guests, extras, tax, cancelled_by, cancelled_at, cancel_reason, "
    # The refund's document, built from booking.refunds (decoded by eventkit.db's codec).
    f"{REFUND_DOCUMENT} AS refund, refund_status, refund_failure, refunded_amount, "
    "payment_method_type, funds_status, bank_name, bank_last4, mandate_ip_address, "
    "mandate_user_agent, "
    "deposit_amount, deposit_released_at, deposit_release_reason, deposit_charged, "
    "authorization_renewed_at, next_action, client_ip, user_agent"
)


async def get_listing(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM booking.listings WHERE listing_id = $1", listing_id)


async def listing_with_terms(conn: asyncpg.Connection, listing_id: str) -> asyncpg.Record | None:
    """The listing, with what a checkout also needs of it, in one round trip: whether Stripe
    last reported its host able to take charges (`host_charges_enabled`, NULL: never
    reported) and the newest version of its cancellation policy (`policy_definition`)."""
    return await conn.fetchrow(
        "SELECT l.*, (SELECT h.charges_enabled FROM booking.host_accounts h "
        "WHERE h.host_account_id = l.host_account_id) AS host_charges_enabled, "
        "(SELECT p.definition FROM booking.cancellation_policies p "
        "WHERE p.name = l.cancellation_policy ORDER BY p.version DESC LIMIT 1) "
        "AS policy_definition FROM booking.listings l WHERE l.listing_id = $1",
        listing_id,
    )


async def count_checkouts_in_flight(conn: asyncpg.Connection) -> int:
    """Checkouts waiting for payments' answer (no guest step outstanding): the saga backlog.
    Reads the partial index of `pending_payment` rows only, whatever the history."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM booking.bookings "
        "WHERE status = 'pending_payment' AND next_action IS NULL"
    )
    return count


async def list_listings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM booking.listings WHERE active ORDER BY listing_id")


async def upsert_listing(
    conn: asyncpg.Connection, listing: dict[str, Any], catalog_at: datetime
) -> None:
    """The listing as the catalogue said it at `catalog_at` (its event's time): an older
    event than the one applied changes nothing."""
    columns = (
        "listing_id",
        "host_id",
        "host_account_id",
        "title",
        "hourly_rate",
        "currency",
        "platform_fee_bps",
        "cancellation_policy",
        "min_hours",
        "max_hours",
        "active",
        "instant_book",
        "response_window_hours",
        "required_documents",
        "rate_unit",
        "daily_rate",
        "cleaning_fee",
        "guest_service_fee_bps",
        "max_guests",
        "extras",
        "tax_jurisdiction",
        "overtime_hourly_rate",
        "accepts_bank_debit",
        "deposit_amount",
    )
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 2))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*columns[1:], "catalog_at"))
    await conn.execute(
        f"INSERT INTO booking.listings ({', '.join(columns)}, catalog_at, updated_at) "
        f"VALUES ({params}, now()) "
        f"ON CONFLICT (listing_id) DO UPDATE SET {updates}, updated_at = now() "
        "WHERE booking.listings.catalog_at IS NULL "
        "OR booking.listings.catalog_at <= EXCLUDED.catalog_at",
        *(listing[c] for c in columns),
        catalog_at,
    )


async def insert_booking(
    conn: asyncpg.Connection, booking: dict[str, Any]
) -> asyncpg.Record | None:
    """The booking as inserted; None when another booking holds part of its slot (the
    exclusion constraint: ON CONFLICT DO NOTHING, so no savepoint is needed around it and a
    refusal leaves the caller's transaction usable)."""
    columns = (
        "booking_id",
        "guest_id",
        "listing_id",
        "host_id",
        "host_account_id",
        "starts_at",
        "ends_at",
        "amount",
        "platform_fee",
        "currency",
        "payment_method",
        "correlation_id",
        "mode",
        "respond_by",
        "save_for_later",
        "status",
        "group_id",
        "quote",
        "policy",
        "guests",
        "extras",
        "tax",
        "deposit_amount",
        "payment_method_type",
        "mandate_ip_address",
        "mandate_user_agent",
        "client_ip",
        "user_agent",
    )
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return await conn.fetchrow(
        f"INSERT INTO booking.bookings ({', '.join(columns)}) VALUES ({params}) "
        f"ON CONFLICT DO NOTHING RETURNING {BOOKING_COLUMNS}",
        *(booking[c] for c in columns),
    )


async def get_booking(
    conn: asyncpg.Connection, booking_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    """With `for_update`, a group leg's group is locked before the leg: one lock order (group,
    then its legs by booking id) for every command, so two never deadlock."""
    if not for_update:
        return await conn.fetchrow(
            f"SELECT {BOOKING_COLUMNS} FROM booking.bookings WHERE booking_id = $1", booking_id
        )
    return await conn.fetchrow(_LOCK_BOOKING, booking_id)


async def get_booking_shown(
    conn: asyncpg.Connection, booking_id: uuid.UUID
) -> asyncpg.Record | None:
    """`get_booking`, with `disputed`: whether a dispute is on any payment of it
    (`disputes.DISPUTED`)."""
    return await conn.fetchrow(SHOWN_BOOKING, booking_id)


# The read behind a booking's GET (its plan is checked for index probes only).
SHOWN_BOOKING = (
    f"SELECT {BOOKING_COLUMNS}, {disputes.DISPUTED} AS disputed "
    "FROM booking.bookings WHERE booking_id = $1"
)


# One round trip for both locks, in that order: the group's lock is an uncorrelated sub-select,
# which Postgres runs first, as the plan's one-time filter, before it scans and locks the
# booking (a leg's group_id is set at insert and never changes: read unlocked). Most bookings
# have no group, and the sub-select then locks nothing.
_LOCK_BOOKING = (
    f"SELECT {BOOKING_COLUMNS} FROM booking.bookings WHERE booking_id = $1 AND ("
    "SELECT count(*) FROM (SELECT 1 FROM booking.checkout_groups WHERE group_id = "
    "(SELECT group_id FROM booking.bookings WHERE booking_id = $1) FOR UPDATE) AS g) >= 0 "
    "FOR UPDATE OF bookings"
)


async def awaits_signatures(db: asyncpg.Pool | asyncpg.Connection, envelope_id: str) -> bool:
    """A booking (not an amendment) still waits for this envelope's signatures."""
    found = await db.fetchval(
        "SELECT 1 FROM booking.bookings WHERE envelope_id = $1 AND status = 'awaiting_signatures'",
        envelope_id,
    )
    return found is not None


async def update_booking(
    conn: asyncpg.Connection, booking_id: uuid.UUID, version: int, **changes: Any
) -> bool:
    """Compare-and-set on `version`: False when someone else changed the booking first."""
    update = compare_and_set("booking.bookings", "booking_id", "version", changes)
    status = await conn.execute(update, booking_id, version, *changes.values())
    return bool(status == "UPDATE 1")


async def change_booking(
    conn: asyncpg.Connection, booking_id: uuid.UUID, version: int, **changes: Any
) -> None:
    """`update_booking` of a row this transaction has locked (FOR UPDATE): nobody else can
    have changed it, so a compare-and-set that changes nothing is a bug, and fails loudly
    (LostUpdate: the transaction rolls back and the message is retried, then dead-lettered)."""
    expect_changed(
        await update_booking(conn, booking_id, version, **changes), f"booking {booking_id}"
    )


def _payer(group_id: str | None) -> tuple[str, str]:
    """The table and key a payment's state lives on: the group's, else the booking's."""
    return ("checkout_groups", "group_id") if group_id else ("bookings", "booking_id")


async def record_renewal(
    conn: asyncpg.Connection, booking_id: str, group_id: str | None, authorized_at: Any
) -> None:
    """A renewed authorization, on the booking (or group); the same time again changes nothing."""
    table, key = _payer(group_id)
    await conn.execute(
        f"UPDATE booking.{table} SET authorization_renewed_at = $2, "
        "authorization_renewals = authorization_renewals + 1, updated_at = now() "
        f"WHERE {key} = $1 AND authorization_renewed_at IS DISTINCT FROM $2",
        uuid.UUID(group_id or booking_id),
        authorized_at,
    )


async def set_next_action(
    conn: asyncpg.Connection,
    booking_id: str,
    group_id: str | None,
    action: dict[str, Any],
    payment_id: str,
) -> None:
    """The guest's step (3-D Secure) while the booking (or group) is still pending payment. A
    single booking also keeps the step's payment: when its hold runs out, its booking_failed
    names it, and payments cancels the intent (the guest can no longer finish the step)."""
    if group_id is not None:
        await conn.execute(
            "UPDATE booking.checkout_groups SET next_action = $2, updated_at = now() "
            "WHERE group_id = $1 AND status = 'pending_payment'",
            uuid.UUID(group_id),
            action,
        )
        return
    await conn.execute(
        "UPDATE booking.bookings SET next_action = $2, payment_id = $3, updated_at = now() "
        "WHERE booking_id = $1 AND status = 'pending_payment'",
        uuid.UUID(booking_id),
        action,
        payment_id,
    )


async def booking_by_envelope(conn: asyncpg.Connection, envelope_id: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT booking_id FROM booking.bookings WHERE envelope_id = $1", envelope_id
    )
    return found


# -- Host accounts ------------------------------------------------------------------------------


async def save_host_account(
    conn: asyncpg.Connection,
    host_account_id: str,
    charges_enabled: bool,
    payouts_enabled: bool,
    reported_at: Any,
) -> None:
    """Whether the host can take charges; only a newer report replaces one."""
    await conn.execute(
        "INSERT INTO booking.host_accounts AS h (host_account_id, charges_enabled, "
        "payouts_enabled, reported_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (host_account_id) DO UPDATE SET "
        "charges_enabled = EXCLUDED.charges_enabled, "
        "payouts_enabled = EXCLUDED.payouts_enabled, reported_at = EXCLUDED.reported_at "
        "WHERE h.reported_at <= EXCLUDED.reported_at",
        host_account_id,
        charges_enabled,
        payouts_enabled,
        reported_at,
    )


# -- Pricing data: policies, tax rates, quotes ------------------------------------------------


async def latest_policy(conn: asyncpg.Connection, name: str) -> dict[str, Any] | None:
    """The newest version of a cancellation policy (what a checkout snapshots)."""
    definition: dict[str, Any] | None = await conn.fetchval(
        "SELECT definition FROM booking.cancellation_policies WHERE name = $1 "
        "ORDER BY version DESC LIMIT 1",
        name,
    )
    return definition


async def insert_policy(conn: asyncpg.Connection, definition: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO booking.cancellation_policies (name, version, definition) VALUES ($1, $2, $3)",
        definition["name"],
        definition["version"],
        definition,
    )


async def list_policies(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT DISTINCT ON (name) definition FROM booking.cancellation_policies "
        "ORDER BY name, version DESC"
    )
    return [r["definition"] for r in rows]


async def tax_rates(conn: asyncpg.Connection, jurisdiction: str) -> tuple[dict[str, int], str]:
    """The rates in force now per tax code, and a version label for the quote."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (tax_code) tax_code, rate_bps, version FROM booking.tax_rates "
        "WHERE jurisdiction = $1 AND valid_from <= now() ORDER BY tax_code, version DESC",
        jurisdiction,
    )
    label = ",".join(f"{r['tax_code']}@{r['version']}" for r in rows)
    return {r["tax_code"]: r["rate_bps"] for r in rows}, f"{jurisdiction}:{label}"


async def insert_quote(conn: asyncpg.Connection, quote: dict[str, Any]) -> None:
    columns = ", ".join(quote)
    params = ", ".join(f"${i}" for i in range(1, len(quote) + 1))
    await conn.execute(
        f"INSERT INTO booking.quotes ({columns}) VALUES ({params})",
        *quote.values(),
    )


async def get_quote(conn: asyncpg.Connection, quote_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM booking.quotes WHERE quote_id = $1", quote_id)


class BookingsRepository:
    """The bookings (and their disputes), listings, quotes and tax rates a unit of work reads
    and writes, on its connection (the functions above are the SQL, and disputes')."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get_listing(self, listing_id: str) -> asyncpg.Record | None:
        return await get_listing(self.conn, listing_id)

    async def upsert_listing(self, listing: dict[str, Any], catalog_at: datetime) -> None:
        await upsert_listing(self.conn, listing, catalog_at)

    async def get_booking(
        self, booking_id: uuid.UUID, *, for_update: bool = False
    ) -> asyncpg.Record | None:
        """`for_update`: the lock order of `get_booking` (a leg's group, then the leg)."""
        return await get_booking(self.conn, booking_id, for_update=for_update)

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        """`change_booking` of a row the unit's transaction has locked."""
        await change_booking(self.conn, booking_id, version, **changes)

    async def record_renewal(
        self, booking_id: str, group_id: str | None, authorized_at: Any
    ) -> None:
        await record_renewal(self.conn, booking_id, group_id, authorized_at)

    async def save_host_account(
        self, host_account_id: str, charges_enabled: bool, payouts_enabled: bool, reported_at: Any
    ) -> None:
        """`save_host_account`: only a newer report replaces one."""
        await save_host_account(
            self.conn, host_account_id, charges_enabled, payouts_enabled, reported_at
        )

    async def disputes_of(self, booking: asyncpg.Record) -> list[asyncpg.Record]:
        """Every dispute on a payment of the booking, open ones first (`disputes.for_booking`)."""
        return await disputes.for_booking(self.conn, booking)

    async def tax_rates(self, jurisdiction: str) -> tuple[dict[str, int], str]:
        return await tax_rates(self.conn, jurisdiction)

    async def insert_quote(self, quote: dict[str, Any]) -> None:
        await insert_quote(self.conn, quote)

    async def get_quote(self, quote_id: uuid.UUID) -> asyncpg.Record | None:
        return await get_quote(self.conn, quote_id)
