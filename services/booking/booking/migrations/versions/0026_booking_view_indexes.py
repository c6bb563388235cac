"""Indexes for what every read of a booking looks up (GET /v1/bookings/{id}, polled by guests
until the capture): its amendments' extra charges, and the disputes of its payments. Without
them both lookups read their whole table (`booking.amendments` has an index on `booking_id`
only for open amendments; `payment_disputes.booking_ids ? id` had none), so each poll's cost
grew with the history of amendments and disputes (docs/benchmarks.md, issue 10)."""

from alembic import op

revision, down_revision = "0026", "0025"

S = "booking"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_amendments_booking ON {S}.amendments (booking_id)")
    op.execute(
        f"CREATE INDEX ix_payment_disputes_bookings ON {S}.payment_disputes USING gin (booking_ids)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.ix_payment_disputes_bookings")
    op.execute(f"DROP INDEX {S}.ix_amendments_booking")
