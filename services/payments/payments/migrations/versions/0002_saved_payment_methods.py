"""Saved payment methods (SetupIntent now, off-session charge later) and failed charges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

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
