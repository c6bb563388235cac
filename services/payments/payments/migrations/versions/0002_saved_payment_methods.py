"""Saved payment methods (SetupIntent now, off-session charge later) and failed charges."""

from alembic import op

revision, down_revision = "0002", "0001"

S = "payments"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN setup_intent_id text")
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN saved_payment_method text")
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN customer_id text")
    op.execute(f"ALTER TABLE {S}.payments DROP CONSTRAINT ck_payments_status")
    op.execute(
        f"ALTER TABLE {S}.payments ADD CONSTRAINT ck_payments_status CHECK (status IN "
        "('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed'))"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments DROP CONSTRAINT ck_payments_status")
    op.execute(
        f"ALTER TABLE {S}.payments ADD CONSTRAINT ck_payments_status CHECK (status IN "
        "('authorized', 'failed', 'captured', 'voided'))"
    )
    for column in ("customer_id", "saved_payment_method", "setup_intent_id"):
        op.execute(f"ALTER TABLE {S}.payments DROP COLUMN {column}")
