"""One row per saga: how it began and its latest event, kept as the timeline records events, so
the stuck-saga scan reads the sagas that wait rather than every event of its window
(ops.service_layer.stuck; it read all sagas of seven days, with a subquery each, on every scan:
its cost grew with history, docs/benchmarks.md).

`waiting` is the latest event asking another service to act: frozen here as it was when this
migration was written (ops.domain.sagas.is_waiting decides it for new events)."""

from alembic import op

revision, down_revision = "0004", "0003"

S = "ops"
_WAITING_FACTS = (
    "payments.payment_authorized",
    "payments.payment_processing",
    "finance.payout_released",
    "booking.leg_ready",
    "booking.group_awaiting_hosts",
)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE {S}.saga_heads (
            correlation_id  uuid PRIMARY KEY,
            first_type      text NOT NULL,
            first_at        timestamptz NOT NULL,
            latest_type     text NOT NULL,
            latest_producer text NOT NULL,
            latest_at       timestamptz NOT NULL,
            waiting         boolean NOT NULL,
            touched_at      timestamptz NOT NULL DEFAULT now()
        )"""
    )
    op.execute(f"CREATE INDEX ix_saga_heads_waiting ON {S}.saga_heads (latest_at) WHERE waiting")
    facts = ", ".join(f"'{fact}'" for fact in _WAITING_FACTS)
    op.execute(
        f"""
        INSERT INTO {S}.saga_heads (correlation_id, first_type, first_at, latest_type,
                                    latest_producer, latest_at, waiting, touched_at)
        SELECT f.correlation_id, f.type, f.occurred_at, l.type, l.producer, l.occurred_at,
               l.type LIKE '%\\_requested' OR l.type IN ({facts}), l.recorded_at
          FROM (SELECT DISTINCT ON (correlation_id) correlation_id, type, occurred_at
                  FROM {S}.timeline_events
                 ORDER BY correlation_id, occurred_at, recorded_at) f
          JOIN (SELECT DISTINCT ON (correlation_id) correlation_id, type, producer,
                       occurred_at, recorded_at
                  FROM {S}.timeline_events
                 ORDER BY correlation_id, occurred_at DESC, recorded_at DESC) l
         USING (correlation_id)"""
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.saga_heads")
