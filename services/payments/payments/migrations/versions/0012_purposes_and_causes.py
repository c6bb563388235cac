"""What each payment was for and what caused each refund, as the published facts say them.

`payments.payment_purpose`: `checkout` (a single booking's checkout, or the card payment that
replaces its returned bank debit), `group_checkout`, `extra_charge` or `deposit_claim`, set by
whatever asked for the payment. (`purpose` is not it: that column tells a booking's payments
apart for `UNIQUE(booking_id, purpose)` and holds `checkout`, `charge:<id>` or `repay`.)
Existing rows are filled from what they recorded: a group's payment, a charge request's (an
extra charge: a damage claim before this revision cannot be told from one), else a checkout.

`refunds.cause` is widened from `cancellation | amendment` to the causes of
`payments.refund_succeeded`: who cancelled is now recorded. A refund recorded before this
revision as `cancellation` cannot say who cancelled: it becomes `other`."""

from alembic import op

revision, down_revision = "0012", "0011"

S = "payments"
PURPOSES = ("checkout", "group_checkout", "extra_charge", "deposit_claim")
CAUSES = (
    "guest_cancellation",
    "host_cancellation",
    "admin_cancellation",
    "group_leg_cancelled",
    "amendment",
    "checkout_failed",
    "deposit_release",
    "other",
)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.payments ADD COLUMN payment_purpose text NOT NULL DEFAULT 'checkout' "
        f"CONSTRAINT ck_payments_payment_purpose CHECK (payment_purpose IN ({_listed(PURPOSES)}))"
    )
    op.execute(
        f"UPDATE {S}.payments SET payment_purpose = CASE "
        "WHEN charge_request_id IS NOT NULL THEN 'extra_charge' "
        "WHEN group_id IS NOT NULL THEN 'group_checkout' ELSE 'checkout' END "
        "WHERE charge_request_id IS NOT NULL OR group_id IS NOT NULL"
    )
    op.execute(f"ALTER TABLE {S}.refunds DROP CONSTRAINT ck_refunds_cause")
    op.execute(f"UPDATE {S}.refunds SET cause = 'other' WHERE cause = 'cancellation'")
    op.execute(f"ALTER TABLE {S}.refunds ALTER COLUMN cause SET DEFAULT 'other'")
    op.execute(
        f"ALTER TABLE {S}.refunds ADD CONSTRAINT ck_refunds_cause "
        f"CHECK (cause IN ({_listed(CAUSES)}))"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.refunds DROP CONSTRAINT ck_refunds_cause")
    op.execute(f"UPDATE {S}.refunds SET cause = 'cancellation' WHERE cause <> 'amendment'")
    op.execute(f"ALTER TABLE {S}.refunds ALTER COLUMN cause SET DEFAULT 'cancellation'")
    op.execute(
        f"ALTER TABLE {S}.refunds ADD CONSTRAINT ck_refunds_cause "
        "CHECK (cause IN ('cancellation', 'amendment'))"
    )
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN payment_purpose")
