"""A dead letter is named by its place AND its record timestamp: a dead-letter topic deleted and
created again restarts its offsets, and a new dead letter at an old offset is another letter
(it must be recorded, and must not inherit the old one's replayed/skipped state)."""

from alembic import op

revision, down_revision = "0002", "0001"

S = "ops"


def upgrade() -> None:
    for table in ("timeline_dead_letters", "dead_letter_actions"):
        op.execute(f"ALTER TABLE {S}.{table} ADD COLUMN record_ts bigint NOT NULL DEFAULT 0")
        op.execute(f"ALTER TABLE {S}.{table} DROP CONSTRAINT {table}_pkey")
        op.execute(
            f"ALTER TABLE {S}.{table} ADD CONSTRAINT {table}_pkey "
            f'PRIMARY KEY (topic, partition, "offset", record_ts)'
        )


def downgrade() -> None:
    for table in ("timeline_dead_letters", "dead_letter_actions"):
        op.execute(f"ALTER TABLE {S}.{table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {S}.{table} DROP COLUMN record_ts")
        op.execute(
            f'ALTER TABLE {S}.{table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (topic, partition, "offset")'
        )
