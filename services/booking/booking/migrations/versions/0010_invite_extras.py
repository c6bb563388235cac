"""Smart Invite extras: the host's priced add-ons (equipment, cleaning...), part of the total."""

from alembic import op

revision, down_revision = "0010", "0009"


def upgrade() -> None:
    op.execute("ALTER TABLE booking.invites ADD COLUMN extras jsonb NOT NULL DEFAULT '[]'")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.invites DROP COLUMN extras")
