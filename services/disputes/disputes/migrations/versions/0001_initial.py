"""Disputable charges (what a chargeback will be matched against) and the eventing tables."""

from alembic import op

from eventkit.ddl import drop_eventing_tables, eventing_tables

revision, down_revision = "0001", None

S = "disputes"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.charges (
            payment_id        text PRIMARY KEY,
            booking_id        text NOT NULL,
            payment_intent_id text NOT NULL,
            charge_id         text,
            amount            bigint NOT NULL CONSTRAINT ck_charges_amount CHECK (amount > 0),
            currency          text NOT NULL,
            host_account_id   text NOT NULL,
            captured_at       timestamptz NOT NULL
        )""")
    op.execute(f"CREATE INDEX ix_charges_charge ON {S}.charges (charge_id)")
    for statement in eventing_tables(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_eventing_tables(S):
        op.execute(statement)
    op.execute(f"DROP TABLE {S}.charges")
