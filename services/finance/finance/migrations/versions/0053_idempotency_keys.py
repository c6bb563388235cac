"""Finance's staff commands take an Idempotency-Key: the answer under each key is kept here
(eventkit.idempotency, docs/api-errors.md)."""

from alembic import op

from eventkit.ddl import drop_idempotency_table, idempotency_table

revision, down_revision = "0053", "0052"

S = "finance"


def upgrade() -> None:
    for statement in idempotency_table(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_idempotency_table(S):
        op.execute(statement)
