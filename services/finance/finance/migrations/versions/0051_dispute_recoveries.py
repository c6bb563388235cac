"""A lost dispute's host shares and how each is recovered (docs/finance.md, "Disputes").

One row per share (`recovery_id` = `<dispute id>:<booking id>`, also the transfer reversal's
request id): netted from the host's next payouts, or taken back by a transfer reversal
(`reversal_amount` of `transfer_id`; the rest, if any, netted). The primary key is what makes
a share recovered once, whoever redelivers the outcome."""

from alembic import op

revision, down_revision = "0051", "0050"

S = "finance"
STATES = "'netting', 'reversal_requested', 'reversed', 'reversal_failed'"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.dispute_recoveries (
            recovery_id     text PRIMARY KEY,
            dispute_id      text NOT NULL,
            payment_id      text NOT NULL,
            booking_id      text,
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_dispute_recoveries_amount
                CHECK (amount > 0),
            reversal_amount bigint NOT NULL DEFAULT 0 CONSTRAINT ck_dispute_recoveries_reversal
                CHECK (reversal_amount >= 0 AND reversal_amount <= amount),
            transfer_id     text,
            state           text NOT NULL CONSTRAINT ck_dispute_recoveries_state
                CHECK (state IN ({STATES})),
            reversal_id     text,
            failure_code    text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"CREATE INDEX ix_dispute_recoveries_dispute ON {S}.dispute_recoveries (dispute_id)")
    op.execute(
        f"CREATE INDEX ix_dispute_recoveries_transfer ON {S}.dispute_recoveries (transfer_id) "
        "WHERE transfer_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.dispute_recoveries")
