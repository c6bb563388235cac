"""DDL of the eventing tables every service owns: outbox, inbox, dead-letter audit.

Called from each service's Alembic migration so the four schemas stay identical.
"""

from __future__ import annotations


def notify_channel(schema: str) -> str:
    return f"{schema}_outbox"


def eventing_tables(schema: str) -> list[str]:
    channel = notify_channel(schema)
    return [
        f"""
        CREATE TABLE {schema}.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        )""",
        # The relay reads only unpublished rows, in id order: keep that index tiny.
        f"CREATE INDEX ix_outbox_unpublished ON {schema}.outbox (id) WHERE published_at IS NULL",
        f"""
        CREATE FUNCTION {schema}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{channel}', '');
            RETURN NULL;
        END $$""",
        # One NOTIFY per statement, delivered at commit: the relay wakes once per transaction.
        f"""
        CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.outbox_notify()""",
        f"""
        CREATE TABLE {schema}.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        )""",
    ]


def drop_eventing_tables(schema: str) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {schema}.inbox",
        f"DROP TABLE IF EXISTS {schema}.outbox",
        f"DROP FUNCTION IF EXISTS {schema}.outbox_notify()",
    ]


def add_outbox_traceparent(schema: str) -> list[str]:
    """The W3C traceparent of the span that wrote the row (eventkit.tracing): the relay sends
    it as the record's `traceparent` header. Nullable: rows written outside a trace, and the
    rows of before, have none."""
    return [f"ALTER TABLE {schema}.outbox ADD COLUMN traceparent text"]


def drop_outbox_traceparent(schema: str) -> list[str]:
    return [f"ALTER TABLE {schema}.outbox DROP COLUMN IF EXISTS traceparent"]


def idempotency_table(schema: str) -> list[str]:
    """The answers of a service's HTTP commands, one per caller and Idempotency-Key
    (eventkit.idempotency); the gateway's own table has the same shape."""
    return [
        f"""
        CREATE TABLE {schema}.idempotency_keys (
            principal     text NOT NULL,
            key           text NOT NULL,
            request_hash  text NOT NULL,
            status_code   integer NOT NULL,
            response      json NOT NULL,  -- json, not jsonb: replay the exact bytes
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (principal, key)
        )"""
    ]


def drop_idempotency_table(schema: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {schema}.idempotency_keys"]
