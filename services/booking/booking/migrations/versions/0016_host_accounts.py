"""Booking's replica of hosts' connected accounts: whether each can take charges.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


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
