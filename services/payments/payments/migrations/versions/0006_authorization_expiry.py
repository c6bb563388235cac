"""When a payment's authorization was reported as nearing its limit (once per payment).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE payments.payments ADD COLUMN expiry_notified_at timestamptz")
    op.execute(
        "CREATE INDEX ix_payments_authorized_since ON payments.payments (created_at) "
        "WHERE status = 'authorized' AND expiry_notified_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX payments.ix_payments_authorized_since")
    op.execute("ALTER TABLE payments.payments DROP COLUMN expiry_notified_at")
