"""Saved-card Request-to-Book: payment_due while the guest re-pays, released if never paid."""

from alembic import op

revision, down_revision = "0006", "0005"

S = "booking"
BASE = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed'"
)
HOLDING = "'pending_payment', 'awaiting_host', 'confirmed', 'completed'"
PAYMENT = "'none', 'authorized', 'captured', 'voided', 'failed'"


def _constraints(statuses: str, holding: str, payment: str) -> list[str]:
    return [
        f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status",
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        f"CHECK (status IN ({statuses}))",
        f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_payment_status",
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_payment_status "
        f"CHECK (payment_status IN ({payment}))",
        f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap",
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
        "(listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        f"WHERE (status IN ({holding}))",
    ]


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN pay_by timestamptz")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN payment_attempts integer NOT NULL DEFAULT 0")
    for statement in _constraints(
        BASE + ", 'payment_due', 'released'", HOLDING + ", 'payment_due'", PAYMENT + ", 'saved'"
    ):
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        f"UPDATE {S}.bookings SET status = 'failed' WHERE status IN ('payment_due', 'released')"
    )
    op.execute(f"UPDATE {S}.bookings SET payment_status = 'none' WHERE payment_status = 'saved'")
    for statement in _constraints(BASE, HOLDING, PAYMENT):
        op.execute(statement)
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN payment_attempts")
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN pay_by")
