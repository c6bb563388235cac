"""Docs-before-pay: required documents on listings, envelopes on bookings, the built-in e-sign
provider's tables, and the awaiting_signatures status (which holds the slot).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from alembic import op

from booking.adapters.esign.builtin import builtin_tables, drop_builtin_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

S = "booking"
STATUSES = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', "
    "'completed', 'payment_due', 'released'"
)
HOLDING = "'pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due'"


def _constraints(statuses: str, holding: str) -> list[str]:
    return [
        f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status",
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        f"CHECK (status IN ({statuses}))",
        f"ALTER TABLE {S}.bookings DROP CONSTRAINT ex_bookings_no_overlap",
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
        "(listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        f"WHERE (status IN ({holding}))",
    ]


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN required_documents jsonb NOT NULL DEFAULT '[]'"
    )
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN save_for_later boolean NOT NULL DEFAULT false")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN envelope_id text")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN signing_url text")
    op.execute(f"CREATE INDEX ix_bookings_envelope ON {S}.bookings (envelope_id)")
    for statement in _constraints(
        STATUSES + ", 'awaiting_signatures'", HOLDING + ", 'awaiting_signatures'"
    ):
        op.execute(statement)
    for statement in builtin_tables(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_builtin_tables(S):
        op.execute(statement)
    op.execute(f"UPDATE {S}.bookings SET status = 'failed' WHERE status = 'awaiting_signatures'")
    for statement in _constraints(STATUSES, HOLDING):
        op.execute(statement)
    op.execute(f"DROP INDEX {S}.ix_bookings_envelope")
    for column in ("signing_url", "envelope_id", "save_for_later"):
        op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN required_documents")
