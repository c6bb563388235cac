"""A transfer reversal finance asks for may also take back the host share of a bank debit
returned after its host was paid (`cause` `debit_returned`, docs/finance.md "Returned bank
debits"); the cause check widens to the contract's `REVERSAL_CAUSES`."""

from alembic import op

revision, down_revision = "0016", "0015"

S = "payments"
# written out, not imported: a migration keeps the set it was written with
CAUSES = ("refund", "dispute_lost", "debit_returned")


def _check(causes: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{c}'" for c in causes)
    return (
        f"ALTER TABLE {S}.transfer_reversals ADD CONSTRAINT ck_transfer_reversals_cause "
        f"CHECK (cause IN ({listed}))"
    )


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.transfer_reversals DROP CONSTRAINT ck_transfer_reversals_cause")
    op.execute(_check(CAUSES))


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.transfer_reversals DROP CONSTRAINT ck_transfer_reversals_cause")
    op.execute(
        f"UPDATE {S}.transfer_reversals SET cause = 'dispute_lost' WHERE cause = 'debit_returned'"
    )
    op.execute(_check(CAUSES[:2]))
