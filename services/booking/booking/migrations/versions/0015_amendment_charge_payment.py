"""An applied increase remembers the payment that paid it, so a later cancellation refunds
from it too.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE booking.amendments ADD COLUMN charge_payment_id text")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.amendments DROP COLUMN charge_payment_id")
