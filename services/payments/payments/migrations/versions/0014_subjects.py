"""What each payment and refund is about beyond its booking, as the request named it.

`payments.subject_id`: the amendment or damage claim an extra charge pays for
(`booking.charge_requested` `subject_id`); `refunds.subject_id`: the amendment whose decrease a
refund gives back (`booking.amendment_decided` `amendment_id`). Payments puts them on the facts
it emits (`subject_id` of payment_captured v2, payment_failed, refund_succeeded,
refund_failed), so that booking routes on them instead of parsing ids. NULL for checkouts,
cancellations' refunds, and rows recorded before this revision (their facts carry no subject;
booking's one legacy reader tells them apart as before)."""

from alembic import op

revision, down_revision = "0014", "0013"

S = "payments"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN subject_id text")
    op.execute(f"ALTER TABLE {S}.refunds ADD COLUMN subject_id text")


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.refunds DROP COLUMN subject_id")
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN subject_id")
