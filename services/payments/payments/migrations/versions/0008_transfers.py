"""Connect transfers per Linked Booking Group leg, and their reversals.

`transfers` holds one row per payout release (`release_id` comes from finance and is the Stripe
idempotency key): reserved `pending` (with the payment row locked) before Stripe is called, so
concurrent releases and refunds of one booking never promise more than its host is owed, then
`created` with Stripe's `transfer_id` or `failed` with Stripe's (or our) refusal. A destination
charge's release records the transfer Stripe made at capture (`destination_charge`).
`amount_reversed` grows with the reversals of refunds.

`transfer_reversals` holds one row per reversal a refund of a transferred share needs: written
`pending` in the transaction that records the refund (so it exists exactly when the refund does),
then made through Stripe by payments' reversal worker (`succeeded` with the `reversal_id`, or
`failed`; `cancelled` when the transfer it would reverse was never made)."""

from alembic import op

revision, down_revision = "0008", "0007"

S = "payments"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.transfers (
            release_id         text PRIMARY KEY,
            transfer_id        text,
            payment_id         text NOT NULL,
            booking_id         text NOT NULL,
            group_id           text,
            host_account_id    text NOT NULL,
            amount             bigint NOT NULL CONSTRAINT ck_transfers_amount CHECK (amount > 0),
            amount_reversed    bigint NOT NULL DEFAULT 0,
            currency           text NOT NULL CONSTRAINT ck_transfers_currency
                CHECK (currency ~ '^[a-z]{{3}}$'),
            transfer_group     text,
            destination_charge boolean NOT NULL DEFAULT false,
            status             text NOT NULL DEFAULT 'pending' CONSTRAINT ck_transfers_status
                CHECK (status IN ('pending', 'created', 'failed')),
            failure_code       text,
            failure_message    text,
            correlation_id     uuid NOT NULL,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_transfers_reversed CHECK (amount_reversed BETWEEN 0 AND amount),
            CONSTRAINT ck_transfers_created CHECK (status <> 'created' OR transfer_id IS NOT NULL)
        )""")
    # One row per Stripe transfer (a destination charge's transfer may be named by several).
    op.execute(
        f"CREATE UNIQUE INDEX uq_transfers_transfer ON {S}.transfers (transfer_id) "
        "WHERE NOT destination_charge"
    )
    op.execute(f"CREATE INDEX ix_transfers_payment ON {S}.transfers (payment_id, booking_id)")
    op.execute(f"""
        CREATE TABLE {S}.transfer_reversals (
            reversal_key    text PRIMARY KEY,
            refund_id       text NOT NULL,
            release_id      text NOT NULL REFERENCES {S}.transfers (release_id),
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            host_account_id text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_transfer_reversals_amount
                CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_transfer_reversals_status
                CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
            reversal_id     text UNIQUE,
            attempts        integer NOT NULL DEFAULT 0,
            failure_code    text,
            last_error      text,
            correlation_id  uuid NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(
        f"CREATE INDEX ix_transfer_reversals_pending ON {S}.transfer_reversals (created_at) "
        "WHERE status = 'pending'"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.transfer_reversals")
    op.execute(f"DROP TABLE {S}.transfers")
