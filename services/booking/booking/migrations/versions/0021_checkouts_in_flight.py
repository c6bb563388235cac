"""The gateway's load shedding counts checkouts waiting for payment: a partial index of the
`pending_payment` rows keeps that count independent of the bookings' history.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_bookings_pending_payment ON booking.bookings (created_at) "
        "WHERE status = 'pending_payment'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX booking.ix_bookings_pending_payment")
