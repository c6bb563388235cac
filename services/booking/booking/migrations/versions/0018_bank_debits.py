"""Bank-debit (ACH) bookings: funds pending until the debit clears.

A listing says whether it takes bank debits (`accepts_bank_debit`, replicated from the
catalogue; `deposit_amount` too, which the deposits work also adds: a listing with a deposit
needs a card). A booking records how the guest pays (`payment_method_type`), the mandate the
guest accepted at checkout (IP address and user agent, for Stripe's `mandate_data`), the bank
(`bank_name`, `bank_last4`) and, for a bank debit, where its funds are (`funds_status`:
`pending` while the debit is processing, `received`, `cleared` once the return window passed,
`returned`). `payment_status` gains `processing`."""

from alembic import op

from eventkit.ddl import check_values_v1, replace_check_v1

revision, down_revision = "0018", "0017"

S = "booking"


def _replace_payment_status_check(statuses: list[str]) -> None:
    for statement in replace_check_v1(
        f"{S}.bookings", "ck_bookings_payment_status", "payment_status", statuses
    ):
        op.execute(statement)


def _payment_statuses() -> list[str]:
    return check_values_v1(f"{S}.bookings", "ck_bookings_payment_status")


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN accepts_bank_debit boolean NOT NULL DEFAULT true"
    )
    # IF NOT EXISTS: the deposits work (0019) adds it the same way.
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL "
        "DEFAULT 0"
    )
    op.execute(f"""
        ALTER TABLE {S}.bookings
            ADD COLUMN payment_method_type text NOT NULL DEFAULT 'card'
                CONSTRAINT ck_bookings_payment_method_type
                CHECK (payment_method_type IN ('card', 'us_bank_account')),
            ADD COLUMN funds_status text CONSTRAINT ck_bookings_funds_status
                CHECK (funds_status IN ('pending', 'received', 'cleared', 'returned')),
            ADD COLUMN bank_name text,
            ADD COLUMN bank_last4 text,
            ADD COLUMN mandate_ip_address text,
            ADD COLUMN mandate_user_agent text""")
    current = _payment_statuses()
    if "processing" not in current:
        _replace_payment_status_check([*current, "processing"])


def downgrade() -> None:
    op.execute(
        f"UPDATE {S}.bookings SET payment_status = 'none' WHERE payment_status = 'processing'"
    )
    _replace_payment_status_check([s for s in _payment_statuses() if s != "processing"])
    op.execute(f"""
        ALTER TABLE {S}.bookings
            DROP COLUMN mandate_user_agent,
            DROP COLUMN mandate_ip_address,
            DROP COLUMN bank_last4,
            DROP COLUMN bank_name,
            DROP COLUMN funds_status,
            DROP COLUMN payment_method_type""")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN IF EXISTS deposit_amount")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN accepts_bank_debit")
