"""A listing's longest bookable stay (`max_hours`; NULL: the booking service's default)."""

from alembic import op

revision, down_revision = "0022", "0021"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE booking.listings ADD COLUMN max_hours integer "
        "CHECK (max_hours IS NULL OR max_hours >= 1)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE booking.listings DROP COLUMN max_hours")
