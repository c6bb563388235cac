"""Security deposits: the SetupIntent saved at checkout, and its release.

A listing with a deposit has the guest's card saved for off-session use with a SetupIntent at
checkout (nothing is held on the card). `payments.deposits` keeps what a damage claim charges:
the customer and the payment method saved for it; booking's `deposit_released` ends it."""

from alembic import op

revision, down_revision = "0010", "0009"

S = "payments"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.deposits (
            payment_id      text PRIMARY KEY,
            booking_id      text NOT NULL,
            setup_intent_id text NOT NULL,
            payment_method  text NOT NULL,
            customer_id     text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_deposits_amount CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'secured'
                CONSTRAINT ck_deposits_status CHECK (status IN ('secured', 'released')),
            charged         bigint NOT NULL DEFAULT 0
                CONSTRAINT ck_deposits_charged CHECK (charged BETWEEN 0 AND amount),
            release_reason  text,
            released_at     timestamptz,
            created_at      timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"CREATE INDEX ix_deposits_booking ON {S}.deposits (booking_id)")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.deposits")
