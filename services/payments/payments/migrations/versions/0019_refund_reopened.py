"""`refunds.reopened`: how many times ops reopened a failed refund (`retry-refund`). Each
reopening makes its Stripe call under a key of its own (`payments:refund:<id>:reopened:<n>`):
Stripe keeps an answer under its key for 24 hours, so a retry under the first key got the
first refusal again (a refund refused while the charge was disputed, retried once the dispute
was won). Before such a call, payments looks for a refund of this id that Stripe did make."""

from eventkit.ddl import statements_v1

revision, down_revision = "0019", "0018"

T = "payments.refunds"

upgrade, downgrade = statements_v1(
    [f"ALTER TABLE {T} ADD COLUMN reopened integer NOT NULL DEFAULT 0"],
    [f"ALTER TABLE {T} DROP COLUMN reopened"],
)
