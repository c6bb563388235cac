"""An amendment that moves a booking proposes its new start; finance keeps it until booking
decides it (`applied`: the booking's start, and its unpaid entries' due times, move).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "finance"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.amendment_starts (
            amendment_id text PRIMARY KEY,
            booking_id   text NOT NULL,
            starts_at    timestamptz NOT NULL,
            received_at  timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.amendment_starts")
