"""When a payment's authorization was reported as nearing its limit (once per payment)."""

from alembic import op

revision, down_revision = "0006", "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE payments.payments ADD COLUMN expiry_notified_at timestamptz")
    op.execute(
        "CREATE INDEX ix_payments_authorized_since ON payments.payments (created_at) "
        "WHERE status = 'authorized' AND expiry_notified_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX payments.ix_payments_authorized_since")
    op.execute("ALTER TABLE payments.payments DROP COLUMN expiry_notified_at")
