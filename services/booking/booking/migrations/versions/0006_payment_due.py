"""Saved-card Request-to-Book: payment_due while the guest re-pays, released if never paid."""

from alembic import op

from eventkit.ddl import replace_constraint_v1

revision, down_revision = "0006", "0005"

S = "booking"
TABLE = f"{S}.bookings"
# The slot a booking in one of these statuses holds: no other may overlap it.
OVERLAP = (
    "EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
    "WHERE (status IN ({holding}))"
)
BASE = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed'"
)
HOLDING = "'pending_payment', 'awaiting_host', 'confirmed', 'completed'"
PAYMENT = "'none', 'authorized', 'captured', 'voided', 'failed'"


def _constraints(statuses: str, holding: str, payment: str) -> list[str]:
    return [
        *replace_constraint_v1(TABLE, "ck_bookings_status", f"CHECK (status IN ({statuses}))"),
        *replace_constraint_v1(
            TABLE, "ck_bookings_payment_status", f"CHECK (payment_status IN ({payment}))"
        ),
        *replace_constraint_v1(TABLE, "ex_bookings_no_overlap", OVERLAP.format(holding=holding)),
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
