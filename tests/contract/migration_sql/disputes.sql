-- migration 0001_initial.py
-- upgrade
CREATE TABLE disputes.charges (
            payment_id        text PRIMARY KEY,
            booking_id        text NOT NULL,
            payment_intent_id text NOT NULL,
            charge_id         text,
            amount            bigint NOT NULL CONSTRAINT ck_charges_amount CHECK (amount > 0),
            currency          text NOT NULL,
            host_account_id   text NOT NULL,
            captured_at       timestamptz NOT NULL
        );

CREATE INDEX ix_charges_charge ON disputes.charges (charge_id);

CREATE TABLE disputes.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );

CREATE INDEX ix_outbox_unpublished ON disputes.outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION disputes.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('disputes_outbox', '');
            RETURN NULL;
        END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON disputes.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION disputes.outbox_notify();

CREATE TABLE disputes.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE IF EXISTS disputes.inbox;

DROP TABLE IF EXISTS disputes.outbox;

DROP FUNCTION IF EXISTS disputes.outbox_notify();

DROP TABLE disputes.charges;

-- migration 0002_split_charges.py
-- upgrade
ALTER TABLE disputes.charges ADD COLUMN group_id text;

ALTER TABLE disputes.charges ADD COLUMN transfer_group text;

ALTER TABLE disputes.charges ADD COLUMN splits jsonb;

ALTER TABLE disputes.charges ALTER COLUMN host_account_id DROP NOT NULL;

ALTER TABLE disputes.charges ADD CONSTRAINT ck_charges_payee CHECK (host_account_id IS NOT NULL OR splits IS NOT NULL);

-- downgrade
DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM disputes.charges WHERE host_account_id IS NULL) THEN
                RAISE EXCEPTION 'charges without a host account exist: cannot downgrade below 0002';
            END IF;
        END $$;

ALTER TABLE disputes.charges DROP CONSTRAINT ck_charges_payee;

ALTER TABLE disputes.charges ALTER COLUMN host_account_id SET NOT NULL;

ALTER TABLE disputes.charges DROP COLUMN splits;

ALTER TABLE disputes.charges DROP COLUMN transfer_group;

ALTER TABLE disputes.charges DROP COLUMN group_id;

-- migration 0003_cases.py
-- upgrade
CREATE TABLE disputes.cases (
        dispute_id           text PRIMARY KEY,
        processor_dispute_id text NOT NULL UNIQUE,
        payment_id           text NOT NULL,
        booking_id           text NOT NULL,
        group_id             text,
        guest_id             text,
        purpose              text,
        amount               bigint NOT NULL CONSTRAINT ck_cases_amount CHECK (amount > 0),
        currency             text NOT NULL,
        reason               text NOT NULL,
        status               text NOT NULL CONSTRAINT ck_cases_status CHECK (status IN ('warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'submitting', 'under_review', 'accepting', 'won', 'lost', 'accepted')),
        inquiry              boolean NOT NULL,
        due_by               timestamptz,
        three_d_secure       boolean NOT NULL DEFAULT false,
        card_brand           text,
        opened_at            timestamptz NOT NULL,
        host_at_fault        boolean NOT NULL DEFAULT false,
        host_fault_note      text NOT NULL DEFAULT '',
        text_edits           jsonb NOT NULL DEFAULT '{}',
        outcome              text,
        policy_version       text,
        rule                 text,
        shares               jsonb,
        resolved_at          timestamptz,
        updated_at           timestamptz NOT NULL DEFAULT now()
    );

CREATE INDEX ix_cases_due ON disputes.cases (due_by, dispute_id);

CREATE INDEX ix_cases_payment ON disputes.cases (payment_id);

CREATE TABLE disputes.case_legs (
        dispute_id      text NOT NULL REFERENCES disputes.cases,
        booking_id      text NOT NULL,
        host_account_id text NOT NULL,
        amount          bigint NOT NULL,
        platform_fee    bigint NOT NULL,
        host_amount     bigint NOT NULL,
        PRIMARY KEY (dispute_id, booking_id)
    );

CREATE INDEX ix_case_legs_host ON disputes.case_legs (host_account_id);

CREATE INDEX ix_case_legs_booking ON disputes.case_legs (booking_id);

CREATE TABLE disputes.case_history (
        id          bigserial PRIMARY KEY,
        dispute_id  text NOT NULL REFERENCES disputes.cases,
        at          timestamptz NOT NULL,
        actor       text NOT NULL,
        trigger     text NOT NULL,
        from_status text,
        to_status   text NOT NULL,
        detail      jsonb NOT NULL DEFAULT '{}'
    );

CREATE INDEX ix_case_history_case ON disputes.case_history (dispute_id, id);

CREATE FUNCTION disputes.case_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'case_history is append-only'; END $$;

CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON disputes.case_history
        FOR EACH ROW EXECUTE FUNCTION disputes.case_history_append_only();

CREATE TABLE disputes.dispute_money (
        balance_transaction_id text PRIMARY KEY,
        dispute_id  text NOT NULL REFERENCES disputes.cases,
        kind        text NOT NULL CONSTRAINT ck_money_kind CHECK (kind IN ('withdrawn', 'reinstated')),
        amount      bigint NOT NULL,
        fee         bigint NOT NULL,
        currency    text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
    );

CREATE TABLE disputes.evidence_files (
        file_id      text PRIMARY KEY,
        dispute_id   text NOT NULL REFERENCES disputes.cases,
        field        text NOT NULL,
        filename     text NOT NULL,
        content_type text NOT NULL,
        sha256       text NOT NULL,
        size         integer NOT NULL,
        content      bytea NOT NULL,
        uploaded_by  text NOT NULL,
        uploaded_at  timestamptz NOT NULL
    );

CREATE INDEX ix_evidence_files_case ON disputes.evidence_files (dispute_id);

CREATE TABLE disputes.submissions (
        request_id   text PRIMARY KEY,
        dispute_id   text NOT NULL REFERENCES disputes.cases,
        action       text NOT NULL CONSTRAINT ck_submissions_action CHECK (action IN ('submit', 'accept')),
        auto         boolean NOT NULL DEFAULT false,
        actor        text NOT NULL,
        requested_at timestamptz NOT NULL,
        fields       text[] NOT NULL DEFAULT '{}',
        outcome      text,
        answered_at  timestamptz
    );

CREATE TABLE disputes.bookings (
        booking_id          text PRIMARY KEY,
        group_id            text,
        guest_id            text,
        listing_id          text,
        host_account_id     text,
        starts_at           timestamptz,
        ends_at             timestamptz,
        amount              bigint,
        currency            text,
        payment_id          text,
        payment_method_type text,
        client_ip           text,
        user_agent          text,
        mandate_ip_address  text,
        mandate_user_agent  text,
        cancellation_policy jsonb,
        quote_lines         jsonb,
        requested_at        timestamptz,
        status              text,
        confirmed_at        timestamptz,
        completed_at        timestamptz,
        cancellation        jsonb
    );

CREATE INDEX ix_bookings_guest ON disputes.bookings (guest_id, starts_at);

CREATE INDEX ix_bookings_group ON disputes.bookings (group_id);

CREATE TABLE disputes.booking_facts (
        kind       text NOT NULL,
        fact_key   text NOT NULL,
        booking_id text NOT NULL,
        at         timestamptz NOT NULL,
        data       jsonb NOT NULL,
        PRIMARY KEY (kind, fact_key)
    );

CREATE INDEX ix_booking_facts_booking ON disputes.booking_facts (booking_id);

CREATE TABLE disputes.fraud_warnings (
        warning_id  text PRIMARY KEY,
        payment_id  text NOT NULL,
        booking_id  text NOT NULL,
        fraud_type  text NOT NULL,
        actionable  boolean NOT NULL,
        received_at timestamptz NOT NULL
    );

ALTER TABLE disputes.charges ADD COLUMN purpose text;

CREATE TABLE disputes.scheduled_jobs (
            id          bigserial PRIMARY KEY,
            kind        text NOT NULL,
            subject_id  text NOT NULL,
            due_at      timestamptz NOT NULL,
            payload     jsonb NOT NULL DEFAULT '{}',
            status      text NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_scheduled_jobs_status CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
            attempts    integer NOT NULL DEFAULT 0,
            last_error  text,
            created_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            CONSTRAINT uq_scheduled_jobs_kind_subject UNIQUE (kind, subject_id)
        );

CREATE INDEX ix_scheduled_jobs_due ON disputes.scheduled_jobs (due_at) WHERE status = 'pending';

-- downgrade
ALTER TABLE disputes.charges DROP COLUMN purpose;

DROP TABLE disputes.scheduled_jobs;

DROP TABLE disputes.fraud_warnings;

DROP TABLE disputes.booking_facts;

DROP TABLE disputes.bookings;

DROP TABLE disputes.submissions;

DROP TABLE disputes.evidence_files;

DROP TABLE disputes.dispute_money;

DROP TABLE disputes.case_history;

DROP TABLE disputes.case_legs;

DROP TABLE disputes.cases;

DROP FUNCTION disputes.case_history_append_only();

-- migration 0004_outbox_traceparent.py
-- upgrade
ALTER TABLE disputes.outbox ADD COLUMN traceparent text;

-- downgrade
ALTER TABLE disputes.outbox DROP COLUMN IF EXISTS traceparent;

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
                WHERE r.relnamespace = 'disputes'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'disputes'::regnamespace AND i.indkey[a.attnum - 1] = 0
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
                WHERE r.relnamespace = 'disputes'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'disputes'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS -1',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

