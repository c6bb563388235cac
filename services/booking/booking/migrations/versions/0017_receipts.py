"""Receipts: issued from payment facts (captures, extra charges, refunds) and the ledger's
journals, never recomputed."""

from alembic import op

revision, down_revision = "0017", "0016"

S = "booking"


def upgrade() -> None:
    for table in ("bookings", "checkout_groups"):
        op.execute(f"ALTER TABLE {S}.{table} ADD COLUMN card_brand text")
        op.execute(f"ALTER TABLE {S}.{table} ADD COLUMN card_last4 text")
    op.execute(f"""
        CREATE TABLE {S}.receipts (
            receipt_id      text PRIMARY KEY,
            kind            text NOT NULL CONSTRAINT ck_receipts_kind
                CHECK (kind IN ('payment', 'extra_charge', 'refund')),
            guest_id        text NOT NULL,
            booking_id      uuid,
            group_id        uuid,
            payment_id      text NOT NULL,
            amount          bigint NOT NULL,
            currency        text NOT NULL,
            platform_fee    bigint NOT NULL,
            tax             bigint NOT NULL,
            legs            jsonb NOT NULL,
            method          jsonb NOT NULL,
            lines           jsonb NOT NULL,
            source_event_id uuid NOT NULL UNIQUE,
            issued_at       timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"CREATE INDEX ix_receipts_guest ON {S}.receipts (guest_id, issued_at)")
    op.execute(f"""
        CREATE TABLE {S}.ledger_journals (
            source_event_id uuid PRIMARY KEY,
            journal_id      text NOT NULL,
            kind            text NOT NULL,
            postings        jsonb NOT NULL
        )""")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.ledger_journals")
    op.execute(f"DROP TABLE {S}.receipts")
    for table in ("bookings", "checkout_groups"):
        op.execute(f"ALTER TABLE {S}.{table} DROP COLUMN card_last4")
        op.execute(f"ALTER TABLE {S}.{table} DROP COLUMN card_brand")
