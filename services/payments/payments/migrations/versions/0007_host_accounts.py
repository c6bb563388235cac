"""Hosts' connected accounts as Stripe last reported them (`account.updated`)."""

from alembic import op

revision, down_revision = "0007", "0006"


def upgrade() -> None:
    op.execute("""
        CREATE TABLE payments.host_accounts (
            host_account_id   text PRIMARY KEY,
            charges_enabled   boolean NOT NULL,
            payouts_enabled   boolean NOT NULL,
            details_submitted boolean NOT NULL DEFAULT false,
            stripe_updated_at timestamptz NOT NULL,
            updated_at        timestamptz NOT NULL DEFAULT now()
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE payments.host_accounts")
