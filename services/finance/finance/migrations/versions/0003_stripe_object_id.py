"""Every journal names the Stripe object it books (charge, refund, transfer, reversal, payout,
balance transaction) so reconciliation matches it to Stripe's balance transactions; the old
`asset:stripe_balance` becomes `asset:stripe_balance:pending` (the available part is moved by
the Stripe import). Ledger rows are append-only, so an existing balance on the old account is
moved by a reclassification journal per currency, not rewritten."""

from alembic import op

revision, down_revision = "0003", "0002"

S = "finance"
OLD = "asset:stripe_balance"
NEW = "asset:stripe_balance:pending"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.journals ADD COLUMN stripe_object_id text")
    op.execute(
        f"CREATE INDEX ix_journals_stripe_object ON {S}.journals (stripe_object_id) "
        "WHERE stripe_object_id IS NOT NULL"
    )
    # one statement: the migration role may not create temporary tables
    op.execute(f"""
        WITH reclass AS (
            SELECT gen_random_uuid() AS journal_id, currency, sum(amount)::bigint AS balance
              FROM {S}.postings WHERE account = '{OLD}'
             GROUP BY currency HAVING sum(amount) <> 0
        ), journals AS (
            INSERT INTO {S}.journals (journal_id, kind, source_event_id, currency)
            SELECT journal_id, 'reclassify_stripe_balance', journal_id, currency FROM reclass
        )
        INSERT INTO {S}.postings (journal_id, account, amount, currency)
        SELECT journal_id, '{NEW}', balance, currency FROM reclass
        UNION ALL
        SELECT journal_id, '{OLD}', -balance, currency FROM reclass""")


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.ix_journals_stripe_object")
    op.execute(f"ALTER TABLE {S}.journals DROP COLUMN stripe_object_id")
