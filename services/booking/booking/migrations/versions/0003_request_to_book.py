"""Request-to-Book: listing mode and response window; awaiting_host and declined bookings."""

from alembic import op

revision, down_revision = "0003", "0002"

S = "booking"
STATUSES = "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined'"


def _exclusion(holding: str) -> str:
    return (
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
        "(listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        f"WHERE (status IN ({holding}))"
    )


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.listings ADD COLUMN instant_book boolean NOT NULL DEFAULT true")
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN response_window_hours integer NOT NULL DEFAULT 24 "
        "CONSTRAINT ck_listings_response_window CHECK (response_window_hours >= 1)"
    )
    op.execute(
        f"ALTER TABLE {S}.bookings ADD COLUMN mode text NOT NULL DEFAULT 'instant' "
        "CONSTRAINT ck_bookings_mode CHECK (mode IN ('instant', 'request'))"
    )
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN respond_by timestamptz")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ({STATUSES}))"
    )
    # A request waiting for its host holds the slot like a pending checkout does.
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap")
    op.execute(_exclusion("'pending_payment', 'awaiting_host', 'confirmed'"))


def downgrade() -> None:
    op.execute(
        f"UPDATE {S}.bookings SET status = 'failed' WHERE status IN ('awaiting_host', 'declined')"
    )
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap")
    op.execute(_exclusion("'pending_payment', 'confirmed'"))
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        "CHECK (status IN ('pending_payment', 'confirmed', 'failed', 'expired'))"
    )
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN respond_by")
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN mode")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN response_window_hours")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN instant_book")
