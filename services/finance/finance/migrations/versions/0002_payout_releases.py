"""Payout holds (bank debits) and releases of transferred legs.

`payables`: per captured payment and booking it paid for, what finance owes the booking's host
(`host_amount`, less `refunded`) and what of it was released to payments for a transfer
(`released`, less what failed; `reversed` came back by transfer reversals). A destination
charge paid its host at capture (nothing to release); a bank debit is held until `hold_until`
unless `cleared_at`; a returned debit (`returned_at`) is never released.

`payout_releases`: one row per release (`release_id` is payments' idempotency key for the
transfer): `released` → `transferred` | `failed`.

`payout_facts`: the payment facts already counted into payables (a redelivered fact changes
nothing)."""

from alembic import op

revision, down_revision = "0002", "0001"

S = "finance"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.payables (
            payment_id          text NOT NULL,
            booking_id          text NOT NULL,
            group_id            text,
            host_account_id     text NOT NULL,
            currency            text NOT NULL CONSTRAINT ck_payables_currency
                CHECK (currency ~ '^[a-z]{{3}}$'),
            host_amount         bigint NOT NULL CONSTRAINT ck_payables_host_amount
                CHECK (host_amount >= 0),
            refunded            bigint NOT NULL DEFAULT 0,
            released            bigint NOT NULL DEFAULT 0,
            reversed            bigint NOT NULL DEFAULT 0,
            transfer_group      text,
            destination_charge  boolean NOT NULL,
            payment_method_type text NOT NULL DEFAULT 'card',
            hold_until          timestamptz,
            cleared_at          timestamptz,
            returned_at         timestamptz,
            releases            integer NOT NULL DEFAULT 0,
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (payment_id, booking_id),
            CONSTRAINT ck_payables_counters CHECK (refunded >= 0 AND released >= 0
                AND reversed >= 0)
        )""")
    op.execute(f"CREATE INDEX ix_payables_booking ON {S}.payables (booking_id)")
    op.execute(f"""
        CREATE TABLE {S}.payout_releases (
            release_id      text PRIMARY KEY,
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            host_account_id text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_payout_releases_amount
                CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'released'
                CONSTRAINT ck_payout_releases_status
                CHECK (status IN ('released', 'transferred', 'failed')),
            transfer_id     text,
            failure_code    text,
            failure_message text,
            released_at     timestamptz NOT NULL DEFAULT now(),
            decided_at      timestamptz,
            FOREIGN KEY (payment_id, booking_id) REFERENCES {S}.payables (payment_id, booking_id)
        )""")
    op.execute(
        f"CREATE INDEX ix_payout_releases_payable ON {S}.payout_releases (payment_id, booking_id)"
    )
    op.execute(f"""
        CREATE TABLE {S}.payout_facts (
            source_event_id uuid NOT NULL,
            kind            text NOT NULL,
            applied_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_event_id, kind)
        )""")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.payout_facts")
    op.execute(f"DROP TABLE {S}.payout_releases")
    op.execute(f"DROP TABLE {S}.payables")
