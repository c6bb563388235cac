"""Smart Invite extras: the host's priced add-ons (equipment, cleaning...), part of the total.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE booking.invites ADD COLUMN extras jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.invites DROP COLUMN extras")
