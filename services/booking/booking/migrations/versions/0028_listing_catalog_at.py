"""A listing of the replica remembers when the catalogue said what it holds (`catalog_at`, the
event's `occurred_at`), so an older event delivered late (or the demo seed published again by
`make up`) no longer overwrites a newer one. Rows of earlier revisions have none: the next
event of their listing is applied whatever its time."""

from alembic import op

revision, down_revision = "0028", "0027"


def upgrade() -> None:
    op.execute("ALTER TABLE booking.listings ADD COLUMN catalog_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE booking.listings DROP COLUMN catalog_at")
