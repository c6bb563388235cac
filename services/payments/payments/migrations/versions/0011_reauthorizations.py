"""Renewed authorizations: the intents a payment replaced; payments waiting for the guest's
3-D Secure step (`requires_action`)."""

from alembic import op

from eventkit.ddl import check_values_v1, replace_check_v1

revision, down_revision = "0011", "0010"


def _replace_status_check(add: str | None = None, drop: str | None = None) -> None:
    """Re-create the status CHECK with whatever earlier revisions allowed, plus/minus one."""
    table = "payments.payments"
    statuses = [s for s in check_values_v1(table, "ck_payments_status") if s != drop]
    if add and add not in statuses:
        statuses.append(add)
    for statement in replace_check_v1(table, "ck_payments_status", "status", statuses):
        op.execute(statement)


def upgrade() -> None:
    _replace_status_check(add="requires_action")
    op.execute("""
        ALTER TABLE payments.payments
            ADD COLUMN authorized_at timestamptz,
            ADD COLUMN renewals integer NOT NULL DEFAULT 0""")
    # The authorizations a renewal replaced: each is cancelled on Stripe by the sweeper once
    # nobody can be capturing it any more (`cancelled_at`).
    op.execute("""
        CREATE TABLE payments.replaced_authorizations (
            payment_intent_id text PRIMARY KEY,
            payment_id        text NOT NULL
                              REFERENCES payments.payments (payment_id) ON DELETE CASCADE,
            replaced_by       text NOT NULL,
            replaced_at       timestamptz NOT NULL DEFAULT now(),
            cancelled_at      timestamptz,
            cancel_error      text
        )""")
    op.execute(
        "CREATE INDEX replaced_authorizations_pending ON payments.replaced_authorizations "
        "(replaced_at) WHERE cancelled_at IS NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE payments.payments SET status = 'failed' WHERE status = 'requires_action'")
    _replace_status_check(drop="requires_action")
    op.execute("DROP TABLE payments.replaced_authorizations")
    op.execute("ALTER TABLE payments.payments DROP COLUMN authorized_at, DROP COLUMN renewals")
