"""Saved payment methods (SetupIntent now, off-session charge later) and failed charges."""

from alembic import op

from eventkit.ddl import replace_check_v1

revision, down_revision = "0002", "0001"

S = "payments"
STATUSES = ["authorized", "failed", "captured", "voided"]
COLUMNS = ("setup_intent_id", "saved_payment_method", "customer_id")


def _status_check(statuses: list[str]) -> None:
    for statement in replace_check_v1(f"{S}.payments", "ck_payments_status", "status", statuses):
        op.execute(statement)


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE {S}.payments ADD COLUMN {column} text")
    _status_check([*STATUSES, "saved", "charge_failed"])


def downgrade() -> None:
    _status_check(STATUSES)
    for column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {S}.payments DROP COLUMN {column}")
