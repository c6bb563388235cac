"""Durable timers (scheduled_jobs) and the `expired` status for checkout holds."""

from alembic import op

from eventkit.scheduler import scheduler_table

revision, down_revision = "0002", "0001"

S = "booking"


def upgrade() -> None:
    for statement in scheduler_table(S):
        op.execute(statement)
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        "CHECK (status IN ('pending_payment', 'confirmed', 'failed', 'expired'))"
    )


def downgrade() -> None:
    op.execute(f"UPDATE {S}.bookings SET status = 'failed' WHERE status = 'expired'")
    op.execute(f"ALTER TABLE {S}.bookings DROP CONSTRAINT ck_bookings_status")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD CONSTRAINT ck_bookings_status "
        "CHECK (status IN ('pending_payment', 'confirmed', 'failed'))"
    )
    op.execute(f"DROP TABLE {S}.scheduled_jobs")
