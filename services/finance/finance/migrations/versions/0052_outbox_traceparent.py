"""The outbox keeps each row's W3C traceparent, so one checkout is one trace across the services
(eventkit.tracing, docs/observability-traces.md).

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-05
"""

from alembic import op

from eventkit.ddl import add_outbox_traceparent, drop_outbox_traceparent

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

S = "finance"


def upgrade() -> None:
    for statement in add_outbox_traceparent(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_outbox_traceparent(S):
        op.execute(statement)
