"""DDL that the services' migrations share: the eventing tables every service owns (outbox, inbox,
dead-letter audit), whole revisions the same in every service, re-created constraints.

Called from each service's Alembic migration so the services' schemas stay identical. A builder
that a revision calls is frozen: it emits the same statements for ever, since what a revision
emits is history (tests/contract/test_migration_history.py pins it). A new shape is a new
function (`..._v1`, `..._v2`); the older one stays for the revisions that call it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence


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


# Whole revisions. A revision that is nothing but statements from here names its `upgrade` and
# `downgrade` in one line: `upgrade, downgrade = outbox_traceparent_v1("booking")`. Like every
# builder a revision calls, these are frozen: what they emit is history
# (tests/contract/test_migration_history.py). Another shape is another `_v<N>`.

Step = Callable[[], None]


def statements_v1(upgrade: Sequence[str], downgrade: Sequence[str]) -> tuple[Step, Step]:
    """A revision's `upgrade()` and `downgrade()`: each executes its statements, in order.
    Frozen (v1): never change it once a revision calls it; write `statements_v2` instead."""

    def run(name: str, statements: Sequence[str]) -> Step:
        def step() -> None:
            from alembic import op  # here, not at import: the relay imports this module

            for statement in statements:
                op.execute(statement)

        step.__name__ = step.__qualname__ = name  # Alembic logs "Running upgrade 0024 -> 0025"
        return step

    return run("upgrade", upgrade), run("downgrade", downgrade)


def outbox_traceparent_v1(schema: str) -> tuple[Step, Step]:
    """The revision that adds the outbox's `traceparent` column (add_outbox_traceparent), the
    same in every service. Frozen (v1): never change it once a revision calls it."""
    return statements_v1(add_outbox_traceparent(schema), drop_outbox_traceparent(schema))


# Constraints that a later revision widens or narrows: drop, then add again under the same name.


def replace_constraint_v1(table: str, name: str, definition: str) -> list[str]:
    """Re-create constraint `name` of `table` (`schema.table`) as `definition` (`CHECK (...)`,
    `EXCLUDE USING ...`). Frozen (v1): never change it once a revision calls it."""
    return [
        f"ALTER TABLE {table} DROP CONSTRAINT {name}",
        f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
    ]


def replace_check_v1(table: str, name: str, column: str, values: Sequence[str]) -> list[str]:
    """Re-create CHECK `name` as `column IN (values)`, each value quoted.
    Frozen (v1): never change it once a revision calls it."""
    listed = ", ".join(f"'{value}'" for value in values)
    return replace_constraint_v1(table, name, f"CHECK ({column} IN ({listed}))")


def check_values_v1(table: str, name: str) -> list[str]:
    """The values CHECK `name` of `table` allows now, in its order, read from the database
    (whatever earlier revisions added): `replace_check_v1` re-creates it with one more or
    fewer. Frozen (v1): never change it once a revision calls it."""
    from alembic import op  # here, not at import: the relay imports this module

    definition = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conname = '{name}' AND conrelid = '{table}'::regclass"
        )
        .scalar()
    )
    return re.findall(r"'([a-z_]+)'", definition or "")


# Planner statistics sized for tables that grow with every checkout. ANALYZE samples 300 rows per
# unit of a column's statistics target (the default 100: 30,000 rows) and sorts each column's
# sample; autovacuum runs it each time a tenth of a table has changed, and since a checkout writes
# rows to dozens of tables they cross that line together. At the default those bursts took a third
# of a core for 20 s at 50 checkouts/s (docs/benchmarks.md). Documents (json, jsonb) and payloads
# (bytea) are never compared in a WHERE: no statistics. Every other column, and each expression of
# an expression index, keeps common values and a histogram of 25.


def statistics_targets_v1(schema: str) -> tuple[Step, Step]:
    """The revision that gives every column of `schema`'s tables, and every expression of its
    indexes, an explicit statistics target: 0 for json, jsonb and bytea, 25 for the rest
    (downgrade: the server's default again). A later revision that adds tables or columns calls
    it again; it sets all of them. Frozen (v1): never change it once a revision calls it."""
    typed = "CASE WHEN t.typname IN ('json', 'jsonb', 'bytea') THEN 0 ELSE 25 END"
    return statements_v1([_statistics(schema, typed, 25)], [_statistics(schema, "-1", -1)])


def _statistics(schema: str, column_target: str, expression_target: int) -> str:
    return f"""
        DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, {column_target} AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = '{schema}'::regnamespace AND r.relkind IN ('r', 'p')
                  AND a.attnum > 0 AND NOT a.attisdropped
            LOOP
                EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s',
                               c.rel, c.attname, c.target);
            END LOOP;
            FOR c IN
                SELECT i.indexrelid::regclass AS rel, a.attnum
                FROM pg_index i
                JOIN pg_class r ON r.oid = i.indexrelid
                JOIN pg_attribute a ON a.attrelid = i.indexrelid AND a.attnum > 0
                WHERE r.relnamespace = '{schema}'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS {expression_target}',
                               c.rel, c.attnum);
            END LOOP;
        END $$"""
