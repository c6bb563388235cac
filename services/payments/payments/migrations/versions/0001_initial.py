"""Payments, Stripe customers, the Stripe webhook inbox."""

from alembic import op

from eventkit.ddl import drop_eventing_tables, eventing_tables

revision, down_revision = "0001", None

S = "payments"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.customers (
            guest_id            text PRIMARY KEY,
            stripe_customer_id  text NOT NULL UNIQUE,
            created_at          timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"""
        CREATE TABLE {S}.payments (
            payment_id        text PRIMARY KEY,
            booking_id        text NOT NULL,
            purpose           text NOT NULL DEFAULT 'checkout',
            guest_id          text NOT NULL,
            amount            bigint NOT NULL CONSTRAINT ck_payments_amount CHECK (amount > 0),
            platform_fee      bigint NOT NULL
                CONSTRAINT ck_payments_fee CHECK (platform_fee BETWEEN 0 AND amount),
            currency          text NOT NULL CONSTRAINT ck_payments_currency
                CHECK (currency ~ '^[a-z]{{3}}$'),
            host_account_id   text NOT NULL,
            payment_method    text NOT NULL,
            payment_intent_id text,
            charge_id         text,
            status            text NOT NULL CONSTRAINT ck_payments_status
                CHECK (status IN ('authorized', 'failed', 'captured', 'voided')),
            stripe_status     text,
            captured_amount   bigint NOT NULL DEFAULT 0,
            card_brand        text,
            card_last4        text,
            failure_code      text,
            decline_code      text,
            failure_message   text,
            correlation_id    uuid NOT NULL,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_payments_booking_purpose UNIQUE (booking_id, purpose)
        )""")
    op.execute(f"CREATE INDEX ix_payments_intent ON {S}.payments (payment_intent_id)")
    op.execute(f"""
        CREATE TABLE {S}.stripe_webhook_events (
            id              bigserial PRIMARY KEY,
            stripe_event_id text NOT NULL CONSTRAINT uq_stripe_webhook_events_event UNIQUE,
            type            text NOT NULL,
            payload         jsonb NOT NULL,
            received_at     timestamptz NOT NULL DEFAULT now(),
            processed_at    timestamptz
        )""")
    op.execute(
        f"CREATE INDEX ix_stripe_webhook_events_pending ON {S}.stripe_webhook_events (id) "
        "WHERE processed_at IS NULL"
    )
    for statement in eventing_tables(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_eventing_tables(S):
        op.execute(statement)
    for table in ("stripe_webhook_events", "payments", "customers"):
        op.execute(f"DROP TABLE {S}.{table}")
