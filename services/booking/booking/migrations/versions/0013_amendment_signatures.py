"""Amendments that change the terms of a listing with documents wait for a new signature."""

from alembic import op

revision, down_revision = "0013", "0012"

S = "booking"
STATUSES = (
    "'proposed', 'charging', 'applied', 'rejected', 'failed', 'withdrawn', 'disputed', 'expired'"
)


def _status_check(statuses: str, open_statuses: str) -> list[str]:
    return [
        f"ALTER TABLE {S}.amendments DROP CONSTRAINT ck_amendments_status",
        f"ALTER TABLE {S}.amendments ADD CONSTRAINT ck_amendments_status "
        f"CHECK (status IN ({statuses}))",
        f"DROP INDEX {S}.uq_amendments_one_open",
        f"CREATE UNIQUE INDEX uq_amendments_one_open ON {S}.amendments (booking_id) "
        f"WHERE status IN ({open_statuses})",
    ]


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.amendments ADD COLUMN needs_signatures boolean NOT NULL DEFAULT false"
    )
    op.execute(f"ALTER TABLE {S}.amendments ADD COLUMN envelope_id text")
    op.execute(f"ALTER TABLE {S}.amendments ADD COLUMN signing_url text")
    op.execute(f"CREATE INDEX ix_amendments_envelope ON {S}.amendments (envelope_id)")
    for statement in _status_check(
        STATUSES + ", 'awaiting_signatures'", "'proposed', 'charging', 'awaiting_signatures'"
    ):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.amendments SET status = 'failed' WHERE status = 'awaiting_signatures'")
    for statement in _status_check(STATUSES, "'proposed', 'charging'"):
        op.execute(statement)
    op.execute(f"DROP INDEX {S}.ix_amendments_envelope")
    for column in ("signing_url", "envelope_id", "needs_signatures"):
        op.execute(f"ALTER TABLE {S}.amendments DROP COLUMN {column}")
