"""An applied increase remembers the payment that paid it, so a later cancellation refunds
from it too."""

from alembic import op

revision, down_revision = "0015", "0014"


def upgrade() -> None:
    op.execute("ALTER TABLE booking.amendments ADD COLUMN charge_payment_id text")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.amendments DROP COLUMN charge_payment_id")
