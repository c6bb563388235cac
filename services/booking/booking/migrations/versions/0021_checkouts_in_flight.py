"""The gateway's load shedding counts checkouts waiting for payment: a partial index of the
`pending_payment` rows keeps that count independent of the bookings' history."""

from alembic import op

revision, down_revision = "0021", "0020"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_bookings_pending_payment ON booking.bookings (created_at) "
        "WHERE status = 'pending_payment'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX booking.ix_bookings_pending_payment")
