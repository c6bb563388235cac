"""Quotes and line items, versioned cancellation policies and tax rates, cancellations.

- listings: the full price list (rate unit, daily rate, cleaning fee, guest service fee,
  guests, extras, tax jurisdiction);
- cancellation_policies: versioned data, the presets seeded; tax_rates: versioned per
  jurisdiction and tax code;
- quotes: a quote the guest may check out with (its total is what is charged);
- bookings: the quote and the policy snapshotted at checkout, guests and extras, the tax part
  of the fee, and the cancellation with its refund."""

import json

from alembic import op

revision, down_revision = "0011", "0010"

S = "booking"
STATUSES = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', "
    "'completed', 'payment_due', 'released', 'awaiting_signatures', 'awaiting_group'"
)
# The presets as they were first published (data, not code: later versions are new rows).
PRESETS = (
    {"name": "flexible", "version": 1, "bands": [{"hours_before": 24, "refund_bps": 10000}]},
    {
        "name": "moderate",
        "version": 1,
        "bands": [
            {"hours_before": 120, "refund_bps": 10000},
            {"hours_before": 24, "refund_bps": 5000},
        ],
    },
    {
        "name": "strict",
        "version": 1,
        "bands": [
            {"hours_before": 336, "refund_bps": 10000},
            {"hours_before": 168, "refund_bps": 5000},
        ],
    },
)
PRESET_RULES = {
    "grace_hours": 24,
    "grace_min_lead_hours": 48,
    "service_fee": "grace_only",
    "host_penalty_bps": 1000,
}
# Development tax table: one jurisdiction, so the demo listing shows tax lines.
TAX_RATES = (
    ("us-ny-nyc", "space_rental", 875),
    ("us-ny-nyc", "extras", 875),
    ("us-ny-nyc", "cleaning", 875),
    ("us-ny-nyc", "labour", 0),
    ("us-ny-nyc", "service_fee", 0),
)


def upgrade() -> None:
    _pricing_tables()
    _quotes_and_booking_snapshots()


def _pricing_tables() -> None:
    """Listings' pricing columns, the cancellation policies and the tax rates, with their presets."""
    for column in (
        "rate_unit text NOT NULL DEFAULT 'hour' CONSTRAINT ck_listings_rate_unit "
        "CHECK (rate_unit IN ('hour', 'day'))",
        "daily_rate bigint",
        "cleaning_fee bigint NOT NULL DEFAULT 0",
        "guest_service_fee_bps integer NOT NULL DEFAULT 0",
        "max_guests integer NOT NULL DEFAULT 100",
        "extras jsonb NOT NULL DEFAULT '[]'",
        "tax_jurisdiction text",
    ):
        op.execute(f"ALTER TABLE {S}.listings ADD COLUMN {column}")
    op.execute(f"""
        CREATE TABLE {S}.cancellation_policies (
            name        text NOT NULL,
            version     integer NOT NULL CONSTRAINT ck_policies_version CHECK (version >= 1),
            definition  jsonb NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (name, version)
        )""")
    for policy in PRESETS:
        definition = json.dumps({**policy, **PRESET_RULES})
        op.execute(
            f"INSERT INTO {S}.cancellation_policies (name, version, definition) "
            f"VALUES ('{policy['name']}', {policy['version']}, '{definition}')"
        )
    op.execute(f"""
        CREATE TABLE {S}.tax_rates (
            jurisdiction text NOT NULL,
            tax_code     text NOT NULL,
            version      integer NOT NULL DEFAULT 1,
            rate_bps     integer NOT NULL CONSTRAINT ck_tax_rates_rate
                CHECK (rate_bps BETWEEN 0 AND 10000),
            valid_from   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (jurisdiction, tax_code, version)
        )""")
    for jurisdiction, code, rate in TAX_RATES:
        op.execute(
            f"INSERT INTO {S}.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) "
            f"VALUES ('{jurisdiction}', '{code}', {rate}, '2026-01-01T00:00:00Z')"
        )


def _quotes_and_booking_snapshots() -> None:
    """Quotes, and what a booking snapshots of its quote and its policy."""
    op.execute(f"""
        CREATE TABLE {S}.quotes (
            quote_id    uuid PRIMARY KEY,
            guest_id    text NOT NULL,
            listing_id  text NOT NULL,
            starts_at   timestamptz NOT NULL,
            ends_at     timestamptz NOT NULL,
            guests      integer NOT NULL,
            extras      jsonb NOT NULL,
            quote       jsonb NOT NULL,
            expires_at  timestamptz NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        )""")
    for column in (
        "quote jsonb",
        "policy jsonb",
        "guests integer NOT NULL DEFAULT 1",
        "extras jsonb NOT NULL DEFAULT '{}'",
        "tax bigint NOT NULL DEFAULT 0",
        "cancelled_by text",
        "cancelled_at timestamptz",
        "cancel_reason text",
        "refund jsonb",
        "refund_status text NOT NULL DEFAULT 'none' CONSTRAINT ck_bookings_refund_status "
        "CHECK (refund_status IN ('none', 'pending', 'refunded', 'failed'))",
        "refund_failure text",
        "refunded_amount bigint NOT NULL DEFAULT 0",
    ):
        op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN {column}")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        f"CHECK (status IN ({STATUSES}, 'cancelled'))"
    )


def downgrade() -> None:
    op.execute(f"UPDATE {S}.bookings SET status = 'failed' WHERE status = 'cancelled'")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ({STATUSES}))"
    )
    for column in (
        "refunded_amount",
        "refund_failure",
        "refund_status",
        "refund",
        "cancel_reason",
        "cancelled_at",
        "cancelled_by",
        "tax",
        "extras",
        "guests",
        "policy",
        "quote",
    ):
        op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN {column}")
    for table in ("quotes", "tax_rates", "cancellation_policies"):
        op.execute(f"DROP TABLE {S}.{table}")
    for column in (
        "tax_jurisdiction",
        "extras",
        "max_guests",
        "guest_service_fee_bps",
        "cleaning_fee",
        "daily_rate",
        "rate_unit",
    ):
        op.execute(f"ALTER TABLE {S}.listings DROP COLUMN {column}")
