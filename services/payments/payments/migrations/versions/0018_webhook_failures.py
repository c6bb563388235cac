"""A stored Stripe event that fails to apply no longer holds up every event after it: the
worker records each failed attempt (`attempts`, `last_error`) and, after the last one, sets
`failed_at`, which takes the event out of the pending ones until ops replay it
(`python -m payments webhook-replay <event id>`). Before, one event the worker could not apply
was retried first on every round, for ever, and no event behind it was applied."""

from eventkit.ddl import statements_v1

revision, down_revision = "0018", "0017"

T = "payments.stripe_webhook_events"

upgrade, downgrade = statements_v1(
    [
        f"ALTER TABLE {T} ADD COLUMN attempts integer NOT NULL DEFAULT 0, "
        "ADD COLUMN last_error text, ADD COLUMN failed_at timestamptz",
        "DROP INDEX payments.ix_stripe_webhook_events_pending",
        f"CREATE INDEX ix_stripe_webhook_events_pending ON {T} (id) "
        "WHERE processed_at IS NULL AND failed_at IS NULL",
        f"CREATE INDEX ix_stripe_webhook_events_failed ON {T} (id) WHERE failed_at IS NOT NULL",
    ],
    [
        "DROP INDEX payments.ix_stripe_webhook_events_failed",
        "DROP INDEX payments.ix_stripe_webhook_events_pending",
        f"CREATE INDEX ix_stripe_webhook_events_pending ON {T} (id) WHERE processed_at IS NULL",
        f"ALTER TABLE {T} DROP COLUMN attempts, DROP COLUMN last_error, DROP COLUMN failed_at",
    ],
)
