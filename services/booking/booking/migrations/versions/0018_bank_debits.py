"""Bank-debit (ACH) bookings: funds pending until the debit clears.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""

from alembic import op  # noqa: F401

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
