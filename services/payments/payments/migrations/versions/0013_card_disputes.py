"""Card disputes (issue 12): what payments knows of each Stripe dispute, so that every dispute
fact is emitted once whatever the order or number of Stripe's webhooks.

- `payments.three_d_secure`: the captured charge was authenticated with 3-D Secure (read from
  the charge at capture; liability for fraud shifts to the issuer).
- `disputes`: one row per Stripe dispute of a card payment (`dispute_id` = `dsp_` + the Stripe
  id without `du_`), created by whichever dispute webhook arrives first. `status` only moves
  forward; `closed_at` is set once (the closed fact); `accepting` is set while payments asks
  Stripe to close it for the platform (so the closed fact says `accepted`).
- `dispute_balance_transactions`: each withdrawal or reinstatement reported, once per Stripe
  balance transaction.
- `dispute_actions`: the outcome of each evidence submission or acceptance disputes asked for
  (`request_id`), written with its fact.
- `early_fraud_warnings`: each Radar early fraud warning reported, once.
- `transfer_reversals` also holds the reversals finance asks for (a lost dispute's host share):
  `request_id` (finance's), `cause` `dispute_lost`, no refund."""

from alembic import op

revision, down_revision = "0013", "0012"

S = "payments"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.payments ADD COLUMN three_d_secure boolean NOT NULL DEFAULT false")
    _dispute_tables()
    op.execute(f"ALTER TABLE {S}.transfer_reversals ALTER COLUMN refund_id DROP NOT NULL")
    op.execute(
        f"ALTER TABLE {S}.transfer_reversals ADD COLUMN request_id text "
        "CONSTRAINT uq_transfer_reversals_request UNIQUE"
    )
    op.execute(
        f"ALTER TABLE {S}.transfer_reversals ADD COLUMN cause text NOT NULL DEFAULT 'refund' "
        "CONSTRAINT ck_transfer_reversals_cause CHECK (cause IN ('refund', 'dispute_lost'))"
    )


def _dispute_tables() -> None:
    """Card disputes, their balance transactions and actions, and early fraud warnings."""
    op.execute(f"""
        CREATE TABLE {S}.disputes (
            dispute_id           text PRIMARY KEY,
            processor_dispute_id text NOT NULL CONSTRAINT uq_disputes_processor UNIQUE,
            payment_id           text NOT NULL,
            booking_id           text NOT NULL,
            charge_id            text,
            amount               bigint NOT NULL,
            currency             text NOT NULL,
            reason               text NOT NULL,
            status               text NOT NULL,
            due_by               timestamptz,
            has_evidence         boolean NOT NULL DEFAULT false,
            submission_count     integer NOT NULL DEFAULT 0,
            opened_at            timestamptz NOT NULL,
            closed_at            timestamptz,
            accepting            boolean NOT NULL DEFAULT false,
            created_at           timestamptz NOT NULL DEFAULT now(),
            updated_at           timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"CREATE INDEX ix_disputes_payment ON {S}.disputes (payment_id)")
    op.execute(f"""
        CREATE TABLE {S}.dispute_balance_transactions (
            balance_transaction_id text PRIMARY KEY,
            dispute_id             text NOT NULL REFERENCES {S}.disputes (dispute_id),
            kind                   text NOT NULL CONSTRAINT ck_dispute_balance_transactions_kind
                CHECK (kind IN ('withdrawn', 'reinstated')),
            amount                 bigint NOT NULL,
            fee                    bigint NOT NULL,
            currency               text NOT NULL,
            created_at             timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.dispute_actions (
            request_id  text PRIMARY KEY,
            dispute_id  text NOT NULL,
            action      text NOT NULL CONSTRAINT ck_dispute_actions_action
                CHECK (action IN ('submit', 'accept')),
            succeeded   boolean NOT NULL,
            file_ids    jsonb NOT NULL DEFAULT '[]',
            code        text,
            message     text,
            created_at  timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.early_fraud_warnings (
            warning_id  text PRIMARY KEY,
            payment_id  text NOT NULL,
            charge_id   text,
            fraud_type  text NOT NULL,
            actionable  boolean NOT NULL,
            received_at timestamptz NOT NULL
        )""")


def downgrade() -> None:
    for column in ("cause", "request_id"):
        op.execute(f"ALTER TABLE {S}.transfer_reversals DROP COLUMN {column}")
    op.execute(f"DELETE FROM {S}.transfer_reversals WHERE refund_id IS NULL")
    op.execute(f"ALTER TABLE {S}.transfer_reversals ALTER COLUMN refund_id SET NOT NULL")
    for table in ("early_fraud_warnings", "dispute_actions", "dispute_balance_transactions"):
        op.execute(f"DROP TABLE {S}.{table}")
    op.execute(f"DROP TABLE {S}.disputes")
    op.execute(f"ALTER TABLE {S}.payments DROP COLUMN three_d_secure")
