"""The reconciliation judges only what changed since its last round (its cost no longer grows
with the books' history), and the import re-reads only the pending balance transactions whose
`available_on` has come.

- `recon_cursors.matched_at`: the database time the last round's match started; the next
  round judges the objects touched since then (less the grace and a margin), and the open
  exceptions.
- indexes that find what changed: balance transactions by `updated_at` (an insert or a
  pending → available change stamps it), payments' expectations by `recorded_at`, journals by
  `posted_at`; balance transactions by their object (`coalesce(source, txn_id)`, the match's
  key) and the pending ones by `available_on`."""

from eventkit.ddl import statements_v1

revision, down_revision = "0054", "0053"

S = "finance"
T = f"{S}.stripe_balance_transactions"

upgrade, downgrade = statements_v1(
    [
        f"ALTER TABLE {S}.recon_cursors ADD COLUMN matched_at timestamptz",
        f"CREATE INDEX ix_sbt_updated ON {T} (updated_at)",
        f"CREATE INDEX ix_sbt_object ON {T} ((coalesce(source, txn_id)))",
        f"CREATE INDEX ix_sbt_pending_due ON {T} (available_on) WHERE status = 'pending'",
        f"CREATE INDEX ix_stripe_objects_recorded ON {S}.stripe_objects (recorded_at)",
        f"CREATE INDEX ix_journals_posted_at ON {S}.journals (posted_at)",
    ],
    [
        f"DROP INDEX {S}.ix_journals_posted_at",
        f"DROP INDEX {S}.ix_stripe_objects_recorded",
        f"DROP INDEX {S}.ix_sbt_pending_due",
        f"DROP INDEX {S}.ix_sbt_object",
        f"DROP INDEX {S}.ix_sbt_updated",
        f"ALTER TABLE {S}.recon_cursors DROP COLUMN matched_at",
    ],
)
