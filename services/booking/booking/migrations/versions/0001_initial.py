"""Listings replica, bookings with the no-double-booking exclusion constraint, idempotency keys."""

from alembic import op

from eventkit.ddl import drop_eventing_tables, eventing_tables

revision, down_revision = "0001", None

S = "booking"


def upgrade() -> None:
    _create_listings_and_bookings()
    op.execute(f"""
        CREATE TABLE {S}.idempotency_keys (
            principal     text NOT NULL,
            key           text NOT NULL,
            request_hash  text NOT NULL,
            status_code   integer NOT NULL,
            response      json NOT NULL,  -- json, not jsonb: replay the exact bytes
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (principal, key)
        )""")
    for statement in eventing_tables(S):
        op.execute(statement)


def _create_listings_and_bookings() -> None:
    """The catalogue replica, and the bookings, whose exclusion constraint forbids double bookings."""
    op.execute(f"""
        CREATE TABLE {S}.listings (
            listing_id          text PRIMARY KEY,
            host_id             text NOT NULL,
            host_account_id     text NOT NULL,
            title               text NOT NULL,
            hourly_rate         bigint NOT NULL CONSTRAINT ck_listings_rate CHECK (hourly_rate >= 0),
            currency            text NOT NULL CONSTRAINT ck_listings_currency CHECK (currency ~ '^[a-z]{{3}}$'),
            platform_fee_bps    integer NOT NULL
                CONSTRAINT ck_listings_fee CHECK (platform_fee_bps BETWEEN 0 AND 10000),
            cancellation_policy text NOT NULL,
            min_hours           integer NOT NULL DEFAULT 1,
            active              boolean NOT NULL DEFAULT true,
            updated_at          timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.bookings (
            booking_id      uuid PRIMARY KEY,
            guest_id        text NOT NULL,
            listing_id      text NOT NULL REFERENCES {S}.listings (listing_id),
            host_id         text NOT NULL,
            host_account_id text NOT NULL,
            starts_at       timestamptz NOT NULL,
            ends_at         timestamptz NOT NULL,
            status          text NOT NULL CONSTRAINT ck_bookings_status
                CHECK (status IN ('pending_payment', 'confirmed', 'failed')),
            payment_status  text NOT NULL DEFAULT 'none' CONSTRAINT ck_bookings_payment_status
                CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed')),
            amount          bigint NOT NULL CONSTRAINT ck_bookings_amount CHECK (amount >= 0),
            platform_fee    bigint NOT NULL
                CONSTRAINT ck_bookings_fee CHECK (platform_fee BETWEEN 0 AND amount),
            currency        text NOT NULL CONSTRAINT ck_bookings_currency CHECK (currency ~ '^[a-z]{{3}}$'),
            payment_method  text NOT NULL,
            payment_id      text,
            failure_reason  text,
            failure_detail  text,
            correlation_id  uuid NOT NULL,
            version         integer NOT NULL DEFAULT 1,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_bookings_range CHECK (ends_at > starts_at),
            -- No two slot-holding bookings of one listing may overlap: the database, not the
            -- application, is the last word on double bookings.
            CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (
                listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
            ) WHERE (status IN ('pending_payment', 'confirmed'))
        )""")
    op.execute(f"CREATE INDEX ix_bookings_guest ON {S}.bookings (guest_id, created_at)")


def downgrade() -> None:
    for statement in drop_eventing_tables(S):
        op.execute(statement)
    op.execute(f"DROP TABLE {S}.idempotency_keys")
    op.execute(f"DROP TABLE {S}.bookings")
    op.execute(f"DROP TABLE {S}.listings")
