"""Linked Booking Groups: one payment for several bookings, paid out per leg by transfers.

A group's payment has no destination account (NULL `host_account_id`); `splits` keeps what each
leg paid and which host account it owes, `transfer_group` names the transfers that will pay the
hosts. A group's saved card that will never be charged (the group failed) ends `cancelled`."""

from alembic import op

from eventkit.ddl import replace_check_v1

revision, down_revision = "0003", "0002"

S = "payments"
STATUSES = ["authorized", "failed", "captured", "voided", "saved", "charge_failed"]


def _status_check(statuses: list[str]) -> None:
    for statement in replace_check_v1(f"{S}.payments", "ck_payments_status", "status", statuses):
        op.execute(statement)


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN group_id text")
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN splits jsonb")
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN transfer_group text")
    op.execute(f"ALTER TABLE {S}.payments ALTER COLUMN host_account_id DROP NOT NULL")
    # Someone is owed every payment: its destination account, or the hosts of its splits.
    op.execute(
        f"ALTER TABLE {S}.payments ADD CONSTRAINT ck_payments_payee CHECK "
        "(host_account_id IS NOT NULL OR (group_id IS NOT NULL AND splits IS NOT NULL))"
    )
    _status_check([*STATUSES, "cancelled"])


def downgrade() -> None:
    # Group payments have no single destination: refuse rather than lose payment records.
    op.execute(f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM {S}.payments WHERE group_id IS NOT NULL) THEN
                RAISE EXCEPTION 'group payments exist: cannot downgrade below 0003';
            END IF;
        END $$""")
    _status_check(STATUSES)
    op.execute(f"ALTER TABLE {S}.payments DROP CONSTRAINT ck_payments_payee")
    op.execute(f"ALTER TABLE {S}.payments ALTER COLUMN host_account_id SET NOT NULL")
    for column in ("transfer_group", "splits", "group_id"):
        op.execute(f"ALTER TABLE {S}.payments DROP COLUMN {column}")
