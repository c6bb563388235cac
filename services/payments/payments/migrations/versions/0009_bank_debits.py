"""ACH Direct Debit payments: processing, return window, returns.

A bank debit (`payment_method_type = us_bank_account`) is `processing` from its confirmation
until the bank settles it (days later, by webhook): then `captured`, with `funds_hold_until`
(the end of the return window), or `returned` when the bank refused it. `funds_cleared_at`
marks the one `payments.funds_cleared` of a debit whose window passed without a return;
`returned_at`/`return_code` record a return (also one after the capture: a dispute of the
charge). A card payment that replaces a returned debit (`purpose = repay`) names it in
`replaces_payment_id`."""

from alembic import op

from eventkit.ddl import check_values_v1, replace_check_v1

revision, down_revision = "0009", "0008"

S = "payments"
NEW_STATUSES = ("processing", "returned")


def _statuses() -> list[str]:
    """The statuses the CHECK allows now (whatever earlier revisions added)."""
    return check_values_v1(f"{S}.payments", "ck_payments_status")


def _replace_status_check(statuses: list[str]) -> None:
    for statement in replace_check_v1(f"{S}.payments", "ck_payments_status", "status", statuses):
        op.execute(statement)


def upgrade() -> None:
    op.execute(f"""
        ALTER TABLE {S}.payments
            ADD COLUMN payment_method_type text NOT NULL DEFAULT 'card'
                CONSTRAINT ck_payments_method_type
                CHECK (payment_method_type IN ('card', 'us_bank_account')),
            ADD COLUMN bank_name text,
            ADD COLUMN bank_last4 text,
            ADD COLUMN succeeded_at timestamptz,
            ADD COLUMN funds_hold_until timestamptz,
            ADD COLUMN funds_cleared_at timestamptz,
            ADD COLUMN returned_at timestamptz,
            ADD COLUMN return_code text,
            ADD COLUMN replaces_payment_id text""")
    current = _statuses()
    _replace_status_check(current + [s for s in NEW_STATUSES if s not in current])
    # The funds-cleared sweeper's scan: captured debits still inside their return window.
    op.execute(
        f"CREATE INDEX ix_payments_funds_hold ON {S}.payments (funds_hold_until) "
        "WHERE funds_hold_until IS NOT NULL AND funds_cleared_at IS NULL AND returned_at IS NULL"
    )
    op.execute(
        f"CREATE UNIQUE INDEX uq_payments_replaces ON {S}.payments (replaces_payment_id) "
        "WHERE replaces_payment_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        f"UPDATE {S}.payments SET status = 'failed' WHERE status IN "
        f"({', '.join(repr(s) for s in NEW_STATUSES)})"
    )
    _replace_status_check([s for s in _statuses() if s not in NEW_STATUSES])
    op.execute(f"DROP INDEX {S}.uq_payments_replaces")
    op.execute(f"DROP INDEX {S}.ix_payments_funds_hold")
    op.execute(f"""
        ALTER TABLE {S}.payments
            DROP COLUMN replaces_payment_id,
            DROP COLUMN return_code,
            DROP COLUMN returned_at,
            DROP COLUMN funds_cleared_at,
            DROP COLUMN funds_hold_until,
            DROP COLUMN succeeded_at,
            DROP COLUMN bank_last4,
            DROP COLUMN bank_name,
            DROP COLUMN payment_method_type""")
