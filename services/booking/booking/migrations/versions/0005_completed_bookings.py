"""Completed bookings: the booked time is over (still occupying their slot in history)."""

from alembic import op

revision, down_revision = "0005", "0004"

S = "booking"


def _statuses(extra: str) -> str:
    return (
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ("
        f"'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined'{extra}))"
    )


def _exclusion(extra: str) -> str:
    return (
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
        "(listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        f"WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed'{extra}))"
    )


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(_statuses(", 'completed'"))
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap")
    op.execute(_exclusion(", 'completed'"))


def downgrade() -> None:
    op.execute(f"UPDATE {S}.bookings SET status = 'confirmed' WHERE status = 'completed'")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap")
    op.execute(_exclusion(""))
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(_statuses(""))
