"""Finance's staff commands take an Idempotency-Key: the answer under each key is kept here
(eventkit.idempotency, docs/api-errors.md).

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-05
"""

from alembic import op

from eventkit.ddl import drop_idempotency_table, idempotency_table

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None

S = "finance"


def upgrade() -> None:
    for statement in idempotency_table(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_idempotency_table(S):
        op.execute(statement)
