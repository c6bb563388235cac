"""An amendment that moves a booking proposes its new start; finance keeps it until booking
decides it (`applied`: the booking's start, and its unpaid entries' due times, move)."""

from alembic import op

revision, down_revision = "0005", "0004"

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
