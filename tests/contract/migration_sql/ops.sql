-- migration 0001_initial.py
-- upgrade
CREATE TABLE ops.timeline_events (
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
            ids            jsonb NOT NULL DEFAULT '{}',
            id_values      text[] NOT NULL DEFAULT '{}',
            replayed_from  text
        );

CREATE INDEX ix_timeline_events_saga ON ops.timeline_events (correlation_id, occurred_at);

CREATE INDEX ix_timeline_events_ids ON ops.timeline_events USING gin (id_values);

CREATE INDEX ix_timeline_events_key ON ops.timeline_events (key);

CREATE INDEX ix_timeline_events_recorded ON ops.timeline_events (recorded_at);

CREATE TABLE ops.timeline_dead_letters (
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
            ids            jsonb NOT NULL DEFAULT '{}',
            id_values      text[] NOT NULL DEFAULT '{}',
            raw            text,
            PRIMARY KEY (topic, partition, "offset")
        );

CREATE INDEX ix_timeline_dead_letters_saga ON ops.timeline_dead_letters (correlation_id);

CREATE INDEX ix_timeline_dead_letters_ids ON ops.timeline_dead_letters USING gin (id_values);

CREATE TABLE ops.stuck_sagas (
            correlation_id uuid PRIMARY KEY,
            saga_type      text NOT NULL,
            step           text NOT NULL,
            waiting_since  timestamptz NOT NULL,
            waited_seconds integer NOT NULL,
            limit_seconds  integer NOT NULL,
            detected_at    timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE ops.mutations (
            token       text PRIMARY KEY,
            action      text NOT NULL,
            actor       text NOT NULL,
            request     jsonb NOT NULL,
            result      jsonb,
            status      text NOT NULL DEFAULT 'running'
                CONSTRAINT ck_mutations_status CHECK (status IN ('running', 'done')),
            created_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );

CREATE TABLE ops.audit (
            id      bigserial PRIMARY KEY,
            actor   text NOT NULL,
            role    text NOT NULL,
            action  text NOT NULL,
            target  text NOT NULL,
            before  jsonb,
            after   jsonb,
            token   text,
            at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_audit_target ON ops.audit (target, at);

CREATE TABLE ops.dead_letter_actions (
            topic     text NOT NULL,
            partition integer NOT NULL,
            "offset"  bigint NOT NULL,
            state     text NOT NULL CONSTRAINT ck_dead_letter_actions_state
                CHECK (state IN ('replayed', 'skipped')),
            note      text,
            actor     text NOT NULL,
            at        timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (topic, partition, "offset")
        );

CREATE TABLE ops.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );

CREATE INDEX ix_outbox_unpublished ON ops.outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION ops.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('ops_outbox', '');
            RETURN NULL;
        END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON ops.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION ops.outbox_notify();

CREATE TABLE ops.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE ops.dead_letter_actions;

DROP TABLE ops.audit;

DROP TABLE ops.mutations;

DROP TABLE ops.stuck_sagas;

DROP TABLE ops.timeline_dead_letters;

DROP TABLE ops.timeline_events;

DROP TABLE IF EXISTS ops.inbox;

DROP TABLE IF EXISTS ops.outbox;

DROP FUNCTION IF EXISTS ops.outbox_notify();

-- migration 0002_dead_letter_identity.py
-- upgrade
ALTER TABLE ops.timeline_dead_letters ADD COLUMN record_ts bigint NOT NULL DEFAULT 0;

ALTER TABLE ops.timeline_dead_letters DROP CONSTRAINT timeline_dead_letters_pkey;

ALTER TABLE ops.timeline_dead_letters ADD CONSTRAINT timeline_dead_letters_pkey PRIMARY KEY (topic, partition, "offset", record_ts);

ALTER TABLE ops.dead_letter_actions ADD COLUMN record_ts bigint NOT NULL DEFAULT 0;

ALTER TABLE ops.dead_letter_actions DROP CONSTRAINT dead_letter_actions_pkey;

ALTER TABLE ops.dead_letter_actions ADD CONSTRAINT dead_letter_actions_pkey PRIMARY KEY (topic, partition, "offset", record_ts);

-- downgrade
ALTER TABLE ops.timeline_dead_letters DROP CONSTRAINT timeline_dead_letters_pkey;

ALTER TABLE ops.timeline_dead_letters DROP COLUMN record_ts;

ALTER TABLE ops.timeline_dead_letters ADD CONSTRAINT timeline_dead_letters_pkey PRIMARY KEY (topic, partition, "offset");

ALTER TABLE ops.dead_letter_actions DROP CONSTRAINT dead_letter_actions_pkey;

ALTER TABLE ops.dead_letter_actions DROP COLUMN record_ts;

ALTER TABLE ops.dead_letter_actions ADD CONSTRAINT dead_letter_actions_pkey PRIMARY KEY (topic, partition, "offset");

-- migration 0003_outbox_traceparent.py
-- upgrade
ALTER TABLE ops.outbox ADD COLUMN traceparent text;

-- downgrade
ALTER TABLE ops.outbox DROP COLUMN IF EXISTS traceparent;

-- migration 0004_saga_heads.py
-- upgrade
CREATE TABLE ops.saga_heads (
            correlation_id  uuid PRIMARY KEY,
            first_type      text NOT NULL,
            first_at        timestamptz NOT NULL,
            latest_type     text NOT NULL,
            latest_producer text NOT NULL,
            latest_at       timestamptz NOT NULL,
            waiting         boolean NOT NULL,
            touched_at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_saga_heads_waiting ON ops.saga_heads (latest_at) WHERE waiting;

INSERT INTO ops.saga_heads (correlation_id, first_type, first_at, latest_type,
                                    latest_producer, latest_at, waiting, touched_at)
        SELECT f.correlation_id, f.type, f.occurred_at, l.type, l.producer, l.occurred_at,
               l.type LIKE '%%\_requested' OR l.type IN ('payments.payment_authorized', 'payments.payment_processing', 'finance.payout_released', 'booking.leg_ready', 'booking.group_awaiting_hosts'), l.recorded_at
          FROM (SELECT DISTINCT ON (correlation_id) correlation_id, type, occurred_at
                  FROM ops.timeline_events
                 ORDER BY correlation_id, occurred_at, recorded_at) f
          JOIN (SELECT DISTINCT ON (correlation_id) correlation_id, type, producer,
                       occurred_at, recorded_at
                  FROM ops.timeline_events
                 ORDER BY correlation_id, occurred_at DESC, recorded_at DESC) l
         USING (correlation_id);

-- downgrade
DROP TABLE ops.saga_heads;

-- migration 0005_statistics_targets.py
-- upgrade
DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, CASE WHEN t.typname IN ('json', 'jsonb', 'bytea') THEN 0 ELSE 25 END AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = 'ops'::regnamespace AND r.relkind IN ('r', 'p')
                  AND a.attnum > 0 AND NOT a.attisdropped
            LOOP
                EXECUTE format('ALTER TABLE %%s ALTER COLUMN %%I SET STATISTICS %%s',
                               c.rel, c.attname, c.target);
            END LOOP;
            FOR c IN
                SELECT i.indexrelid::regclass AS rel, a.attnum
                FROM pg_index i
                JOIN pg_class r ON r.oid = i.indexrelid
                JOIN pg_attribute a ON a.attrelid = i.indexrelid AND a.attnum > 0
                WHERE r.relnamespace = 'ops'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS 25',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

-- downgrade
DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, -1 AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = 'ops'::regnamespace AND r.relkind IN ('r', 'p')
                  AND a.attnum > 0 AND NOT a.attisdropped
            LOOP
                EXECUTE format('ALTER TABLE %%s ALTER COLUMN %%I SET STATISTICS %%s',
                               c.rel, c.attname, c.target);
            END LOOP;
            FOR c IN
                SELECT i.indexrelid::regclass AS rel, a.attnum
                FROM pg_index i
                JOIN pg_class r ON r.oid = i.indexrelid
                JOIN pg_attribute a ON a.attrelid = i.indexrelid AND a.attnum > 0
                WHERE r.relnamespace = 'ops'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS -1',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

