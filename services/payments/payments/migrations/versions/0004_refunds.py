"""Refunds of cancelled bookings, and the tax part of a payment's platform fee.

`refunds` holds one row per refund request (`refund_id` comes from booking and is the Stripe
idempotency key): what to give back and how it divides, how it was given back (`method`:
`refund` through Stripe, `void` or `partial_capture` of a payment still only authorized,
`none` when nothing was taken), and its outcome (`pending` → `succeeded` | `failed`, with
`attempts` and the last error). A payment keeps its status when refunded: `refunded_amount`
grows up to `captured_amount`, which the database enforces."""

from alembic import op

revision, down_revision = "0004", "0003"

S = "payments"


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.payments ADD COLUMN tax bigint NOT NULL DEFAULT 0, "
        "ADD CONSTRAINT ck_payments_tax CHECK (tax BETWEEN 0 AND platform_fee)"
    )
    op.execute(
        f"ALTER TABLE {S}.payments ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0, "
        "ADD CONSTRAINT ck_payments_refunded CHECK (refunded_amount BETWEEN 0 AND captured_amount)"
    )
    op.execute(f"""
        CREATE TABLE {S}.refunds (
            refund_id        text PRIMARY KEY,
            payment_id       text NOT NULL,
            booking_id       text NOT NULL,
            group_id         text,
            amount           bigint NOT NULL CONSTRAINT ck_refunds_amount CHECK (amount >= 0),
            currency         text NOT NULL CONSTRAINT ck_refunds_currency
                CHECK (currency ~ '^[a-z]{{3}}$'),
            platform_fee     bigint NOT NULL,
            host_amount      bigint NOT NULL,
            tax              bigint NOT NULL DEFAULT 0,
            host_account_id  text NOT NULL,
            lines            jsonb NOT NULL DEFAULT '[]',
            status           text NOT NULL DEFAULT 'pending' CONSTRAINT ck_refunds_status
                CHECK (status IN ('pending', 'succeeded', 'failed')),
            method           text CONSTRAINT ck_refunds_method
                CHECK (method IN ('refund', 'void', 'partial_capture', 'none')),
            stripe_refund_id text,
            attempts         integer NOT NULL DEFAULT 0,
            failure_code     text,
            last_error       text,
            correlation_id   uuid NOT NULL,
            source_event_id  uuid NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            decided_at       timestamptz
        )""")
    op.execute(f"CREATE INDEX ix_refunds_payment ON {S}.refunds (payment_id)")
    op.execute(
        f"CREATE INDEX ix_refunds_open ON {S}.refunds (status, updated_at) "
        "WHERE status <> 'succeeded'"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.refunds")
    op.execute(f"ALTER TABLE {S}.payments DROP CONSTRAINT ck_payments_refunded")
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN refunded_amount")
    op.execute(f"ALTER TABLE {S}.payments DROP CONSTRAINT ck_payments_tax")
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN tax")
