"""Renewed authorizations of bookings awaiting their host; the 3-D Secure step a checkout
waits for (`next_action`)."""

from alembic import op

revision, down_revision = "0020", "0019"


def upgrade() -> None:
    for table in ("bookings", "checkout_groups"):
        op.execute(
            f"ALTER TABLE booking.{table} ADD COLUMN authorization_renewed_at timestamptz, "
            "ADD COLUMN authorization_renewals integer NOT NULL DEFAULT 0, "
            "ADD COLUMN next_action jsonb"
        )


def downgrade() -> None:
    for table in ("bookings", "checkout_groups"):
        op.execute(
            f"ALTER TABLE booking.{table} DROP COLUMN authorization_renewed_at, "
            "DROP COLUMN authorization_renewals, DROP COLUMN next_action"
        )
