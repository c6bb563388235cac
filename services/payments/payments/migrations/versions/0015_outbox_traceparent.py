"""The outbox keeps each row's W3C traceparent, so one checkout is one trace across the services
(eventkit.tracing, docs/observability-traces.md)."""

from alembic import op

from eventkit.ddl import add_outbox_traceparent, drop_outbox_traceparent

revision, down_revision = "0015", "0014"

S = "payments"


def upgrade() -> None:
    for statement in add_outbox_traceparent(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_outbox_traceparent(S):
        op.execute(statement)
