"""Each payable names the Stripe charge that paid it, so a journal booked later about that
payment without a Stripe id of its own (a returned bank debit) names the charge."""

from alembic import op

revision, down_revision = "0006", "0005"

S = "finance"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payables ADD COLUMN charge_id text")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payables DROP COLUMN charge_id")
