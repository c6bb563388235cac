"""Issue 12: the checkout's client context (dispute evidence) and payments' card disputes.

`bookings.client_ip` / `user_agent` and the same on `checkout_groups`: where the guest checked
out from, published on booking.checkout_requested (a docs-before-pay checkout asks for payment
later, from a consumer, so it must be stored). `payment_disputes`: booking's replica of
payments' dispute facts, one row per dispute, the status moving only forward."""

from alembic import op

revision, down_revision = "0023", "0022"


def upgrade() -> None:
    for table in ("bookings", "checkout_groups"):
        op.execute(f"ALTER TABLE booking.{table} ADD COLUMN client_ip text")
        op.execute(f"ALTER TABLE booking.{table} ADD COLUMN user_agent text")
    op.execute(
        """CREATE TABLE booking.payment_disputes (
    dispute_id   text PRIMARY KEY,
    payment_id   text NOT NULL,
    subject_id   text NOT NULL,  -- the fact's booking_id: a booking, or a group's id
    booking_ids  jsonb NOT NULL DEFAULT '[]'::jsonb,  -- the legs the payment paid for
    status       text NOT NULL,
    rank         smallint NOT NULL,  -- domain/disputes.py: a status never moves back
    reason       text,
    amount       bigint,
    currency     text,
    opened_at    timestamptz,
    due_by       timestamptz,
    due_rank     smallint NOT NULL DEFAULT 0,  -- the rank of the fact `due_by` came from
    closed_at    timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
)"""
    )
    op.execute("CREATE INDEX payment_disputes_by_payment ON booking.payment_disputes (payment_id)")
    op.execute("CREATE INDEX payment_disputes_by_subject ON booking.payment_disputes (subject_id)")


def downgrade() -> None:
    op.execute("DROP TABLE booking.payment_disputes")
    for table in ("bookings", "checkout_groups"):
        op.execute(f"ALTER TABLE booking.{table} DROP COLUMN user_agent")
        op.execute(f"ALTER TABLE booking.{table} DROP COLUMN client_ip")
