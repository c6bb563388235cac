"""The refund of an amendment that lowered the price has a visible status of its own."""

from alembic import op

revision, down_revision = "0014", "0013"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE booking.amendments ADD COLUMN refund_status text NOT NULL DEFAULT 'none' "
        "CONSTRAINT ck_amendments_refund_status "
        "CHECK (refund_status IN ('none', 'pending', 'refunded', 'failed'))"
    )
    op.execute("ALTER TABLE booking.amendments ADD COLUMN refund_failure text")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.amendments DROP COLUMN refund_failure")
    op.execute("ALTER TABLE booking.amendments DROP COLUMN refund_status")
