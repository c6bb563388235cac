"""The authorizations still held, by when they were taken (`coalesce(authorized_at,
created_at)`, a renewal's time or the first one's): what the expiry sweeper claims and the
expiring-authorizations gauge counts. The index of 0006 was on `created_at`, which neither
query filters on, so both read every payment (a sequential scan growing with the history:
about 140 ms with 42,000 payments, every 15 s for the gauge)."""

from eventkit.ddl import statements_v1

revision, down_revision = "0017", "0016"

T = "payments.payments"

upgrade, downgrade = statements_v1(
    [
        f"CREATE INDEX ix_payments_authorized_at ON {T} ((coalesce(authorized_at, created_at))) "
        "WHERE status = 'authorized'",
        "DROP INDEX payments.ix_payments_authorized_since",
    ],
    [
        f"CREATE INDEX ix_payments_authorized_since ON {T} (created_at) "
        "WHERE status = 'authorized' AND expiry_notified_at IS NULL",
        "DROP INDEX payments.ix_payments_authorized_at",
    ],
)
