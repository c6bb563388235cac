"""Booking's replica of hosts' connected accounts: whether each can take charges."""

from alembic import op

revision, down_revision = "0016", "0015"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE booking.host_accounts (
            host_account_id text PRIMARY KEY,
            charges_enabled boolean NOT NULL,
            payouts_enabled boolean NOT NULL,
            reported_at     timestamptz NOT NULL
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE booking.host_accounts")
