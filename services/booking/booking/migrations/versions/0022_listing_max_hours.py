"""A listing's longest bookable stay (`max_hours`; NULL: the booking service's default).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE booking.listings ADD COLUMN max_hours integer "
        "CHECK (max_hours IS NULL OR max_hours >= 1)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE booking.listings DROP COLUMN max_hours")
