"""Payout holds (bank debits) and releases of transferred legs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
