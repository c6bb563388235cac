"""One journal per Stripe object for the kinds in `finance.domain.ledger.ONCE_PER_OBJECT`: a
capture per charge, a refund per refund, a transfer to a host and a reversal of it, whichever
fact books it.

Journals are idempotent per source fact (`source_event_id`, `kind`). A second fact about the
same Stripe object (the capture or refund announced again under a new event id) would book it
twice, and the ledger would no longer equal what Stripe did. `journal_objects` holds the Stripe
object of every journal of those kinds: the journal is inserted only with its row, in one
statement (`ledger_repository.post`). Filled from the journals booked before it; an object
booked twice before it keeps both journals (its reconciliation exception says so)."""

from eventkit.ddl import statements_v1

revision, down_revision = "0055", "0054"

S = "finance"

upgrade, downgrade = statements_v1(
    [
        f"""
        CREATE TABLE {S}.journal_objects (
            kind             text NOT NULL,
            stripe_object_id text NOT NULL,
            PRIMARY KEY (kind, stripe_object_id)
        )""",
        f"""
        INSERT INTO {S}.journal_objects (kind, stripe_object_id)
        SELECT DISTINCT kind, stripe_object_id FROM {S}.journals
         WHERE stripe_object_id IS NOT NULL
           AND kind IN ('guest_payment_captured', 'guest_refund', 'host_transfer',
                        'host_transfer_reversed')
        ON CONFLICT DO NOTHING""",
    ],
    [f"DROP TABLE {S}.journal_objects"],
)
