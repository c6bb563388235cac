"""The timeline projection, stuck sagas, the staff mutations' idempotency tokens and audit."""

from alembic import op

from eventkit.ddl import drop_eventing_tables, eventing_tables

revision, down_revision = "0001", None

S = "ops"


def upgrade() -> None:
    _timeline()
    _staff_tables()
    # The runtime's relay and housekeeping expect them (ops publishes nothing yet).
    for statement in eventing_tables(S):
        op.execute(statement)


def _timeline() -> None:
    """The timeline: every event and dead letter, found by the ids they carry."""
    # One row per event (its event_id); a replayed copy of an event is the same event.
    op.execute(f"""
        CREATE TABLE {S}.timeline_events (
            event_id       uuid PRIMARY KEY,
            type           text NOT NULL,
            version        integer NOT NULL,
            producer       text NOT NULL,
            key            text NOT NULL,
            correlation_id uuid NOT NULL,
            causation_id   uuid,
            occurred_at    timestamptz NOT NULL,
            recorded_at    timestamptz NOT NULL DEFAULT now(),
            topic          text NOT NULL,
            ids            jsonb NOT NULL DEFAULT '{{}}',
            id_values      text[] NOT NULL DEFAULT '{{}}',
            replayed_from  text
        )""")
    op.execute(
        f"CREATE INDEX ix_timeline_events_saga ON {S}.timeline_events (correlation_id, occurred_at)"
    )
    op.execute(f"CREATE INDEX ix_timeline_events_ids ON {S}.timeline_events USING gin (id_values)")
    op.execute(f"CREATE INDEX ix_timeline_events_key ON {S}.timeline_events (key)")
    op.execute(f"CREATE INDEX ix_timeline_events_recorded ON {S}.timeline_events (recorded_at)")
    # A dead letter is a record of a <service>.dlt topic: several services may dead-letter the
    # same event, so the record's place, not the event_id, names it. Its envelope fields are
    # NULL when the message was poison (not an envelope at all).
    op.execute(f"""
        CREATE TABLE {S}.timeline_dead_letters (
            topic          text NOT NULL,
            partition      integer NOT NULL,
            "offset"       bigint NOT NULL,
            service        text NOT NULL,
            original_topic text,
            error_type     text,
            error_message  text,
            attempts       integer,
            failed_at      timestamptz,
            event_id       uuid,
            type           text,
            version        integer,
            producer       text,
            key            text,
            correlation_id uuid,
            causation_id   uuid,
            occurred_at    timestamptz,
            recorded_at    timestamptz NOT NULL DEFAULT now(),
            ids            jsonb NOT NULL DEFAULT '{{}}',
            id_values      text[] NOT NULL DEFAULT '{{}}',
            raw            text,
            PRIMARY KEY (topic, partition, "offset")
        )""")
    op.execute(
        f"CREATE INDEX ix_timeline_dead_letters_saga ON {S}.timeline_dead_letters (correlation_id)"
    )
    op.execute(
        f"CREATE INDEX ix_timeline_dead_letters_ids ON {S}.timeline_dead_letters USING gin (id_values)"
    )


def _staff_tables() -> None:
    """Stuck sagas found, staff mutations and their audit, decisions on dead letters."""
    # What the detector found last round (replaced as a whole each round).
    op.execute(f"""
        CREATE TABLE {S}.stuck_sagas (
            correlation_id uuid PRIMARY KEY,
            saga_type      text NOT NULL,
            step           text NOT NULL,
            waiting_since  timestamptz NOT NULL,
            waited_seconds integer NOT NULL,
            limit_seconds  integer NOT NULL,
            detected_at    timestamptz NOT NULL DEFAULT now()
        )""")
    # A staff mutation's idempotency token: the first call's result, returned to every repeat.
    op.execute(f"""
        CREATE TABLE {S}.mutations (
            token       text PRIMARY KEY,
            action      text NOT NULL,
            actor       text NOT NULL,
            request     jsonb NOT NULL,
            result      jsonb,
            status      text NOT NULL DEFAULT 'running'
                CONSTRAINT ck_mutations_status CHECK (status IN ('running', 'done')),
            created_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        )""")
    op.execute(f"""
        CREATE TABLE {S}.audit (
            id      bigserial PRIMARY KEY,
            actor   text NOT NULL,
            role    text NOT NULL,
            action  text NOT NULL,
            target  text NOT NULL,
            before  jsonb,
            after   jsonb,
            token   text,
            at      timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute(f"CREATE INDEX ix_audit_target ON {S}.audit (target, at)")
    # What staff decided about a dead letter (replayed, skipped with a note), by its place.
    op.execute(f"""
        CREATE TABLE {S}.dead_letter_actions (
            topic     text NOT NULL,
            partition integer NOT NULL,
            "offset"  bigint NOT NULL,
            state     text NOT NULL CONSTRAINT ck_dead_letter_actions_state
                CHECK (state IN ('replayed', 'skipped')),
            note      text,
            actor     text NOT NULL,
            at        timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (topic, partition, "offset")
        )""")


def downgrade() -> None:
    for table in (
        "dead_letter_actions",
        "audit",
        "mutations",
        "stuck_sagas",
        "timeline_dead_letters",
        "timeline_events",
    ):
        op.execute(f"DROP TABLE {S}.{table}")
    for statement in drop_eventing_tables(S):
        op.execute(statement)
