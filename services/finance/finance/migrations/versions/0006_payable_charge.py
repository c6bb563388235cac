"""Each payable names the Stripe charge that paid it, so a journal booked later about that
payment without a Stripe id of its own (a returned bank debit) names the charge.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

S = "finance"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payables ADD COLUMN charge_id text")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payables DROP COLUMN charge_id")
