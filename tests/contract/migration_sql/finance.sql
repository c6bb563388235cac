-- migration 0001_initial.py
-- upgrade
CREATE TABLE finance.journals (
            journal_id      uuid PRIMARY KEY,
            kind            text NOT NULL,
            booking_id      text,
            source_event_id uuid NOT NULL,
            currency        text NOT NULL CONSTRAINT ck_journals_currency
                CHECK (currency ~ '^[a-z]{3}$'),
            posted_at       timestamptz NOT NULL DEFAULT now(),
            -- One journal per (source fact, kind): a replayed fact cannot post twice.
            CONSTRAINT uq_journals_source_kind UNIQUE (source_event_id, kind)
        );

CREATE TABLE finance.postings (
            posting_id  bigserial PRIMARY KEY,
            journal_id  uuid NOT NULL REFERENCES finance.journals (journal_id),
            account     text NOT NULL,
            amount      bigint NOT NULL CONSTRAINT ck_postings_nonzero CHECK (amount <> 0),
            currency    text NOT NULL
        );

CREATE INDEX ix_postings_journal ON finance.postings (journal_id);

CREATE INDEX ix_postings_account ON finance.postings (account, currency);

CREATE FUNCTION finance.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are append-only (%% on %%)', TG_OP, TG_TABLE_NAME;
        END $$;

CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON finance.journals
            FOR EACH ROW EXECUTE FUNCTION finance.forbid_change();

CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON finance.postings
            FOR EACH ROW EXECUTE FUNCTION finance.forbid_change();

CREATE FUNCTION finance.check_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE total bigint; currencies integer;
        BEGIN
            SELECT coalesce(sum(amount), 0), count(DISTINCT currency) INTO total, currencies
              FROM finance.postings WHERE journal_id = NEW.journal_id;
            IF total <> 0 OR currencies <> 1 THEN
                RAISE EXCEPTION 'journal %% is unbalanced (sum %%, %% currencies)',
                    NEW.journal_id, total, currencies;
            END IF;
            RETURN NULL;
        END $$;

CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON finance.postings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        EXECUTE FUNCTION finance.check_journal_balanced();

CREATE TABLE finance.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );

CREATE INDEX ix_outbox_unpublished ON finance.outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION finance.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('finance_outbox', '');
            RETURN NULL;
        END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON finance.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION finance.outbox_notify();

CREATE TABLE finance.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE IF EXISTS finance.inbox;

DROP TABLE IF EXISTS finance.outbox;

DROP FUNCTION IF EXISTS finance.outbox_notify();

DROP TABLE finance.postings;

DROP TABLE finance.journals;

DROP FUNCTION finance.check_journal_balanced();

DROP FUNCTION finance.forbid_change();

-- migration 0002_payout_releases.py
-- upgrade
CREATE TABLE finance.payables (
            payment_id          text NOT NULL,
            booking_id          text NOT NULL,
            group_id            text,
            host_account_id     text NOT NULL,
            currency            text NOT NULL CONSTRAINT ck_payables_currency
                CHECK (currency ~ '^[a-z]{3}$'),
            host_amount         bigint NOT NULL CONSTRAINT ck_payables_host_amount
                CHECK (host_amount >= 0),
            refunded            bigint NOT NULL DEFAULT 0,
            released            bigint NOT NULL DEFAULT 0,
            reversed            bigint NOT NULL DEFAULT 0,
            transfer_group      text,
            destination_charge  boolean NOT NULL,
            payment_method_type text NOT NULL DEFAULT 'card',
            hold_until          timestamptz,
            cleared_at          timestamptz,
            returned_at         timestamptz,
            releases            integer NOT NULL DEFAULT 0,
            created_at          timestamptz NOT NULL DEFAULT now(),
            updated_at          timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (payment_id, booking_id),
            CONSTRAINT ck_payables_counters CHECK (refunded >= 0 AND released >= 0
                AND reversed >= 0)
        );

CREATE INDEX ix_payables_booking ON finance.payables (booking_id);

CREATE TABLE finance.payout_releases (
            release_id      text PRIMARY KEY,
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            host_account_id text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_payout_releases_amount
                CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'released'
                CONSTRAINT ck_payout_releases_status
                CHECK (status IN ('released', 'transferred', 'failed')),
            transfer_id     text,
            failure_code    text,
            failure_message text,
            released_at     timestamptz NOT NULL DEFAULT now(),
            decided_at      timestamptz,
            FOREIGN KEY (payment_id, booking_id) REFERENCES finance.payables (payment_id, booking_id)
        );

CREATE INDEX ix_payout_releases_payable ON finance.payout_releases (payment_id, booking_id);

CREATE TABLE finance.payout_facts (
            source_event_id uuid NOT NULL,
            kind            text NOT NULL,
            applied_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_event_id, kind)
        );

-- downgrade
DROP TABLE finance.payout_facts;

DROP TABLE finance.payout_releases;

DROP TABLE finance.payables;

-- migration 0003_stripe_object_id.py
-- upgrade
ALTER TABLE finance.journals ADD COLUMN stripe_object_id text;

CREATE INDEX ix_journals_stripe_object ON finance.journals (stripe_object_id) WHERE stripe_object_id IS NOT NULL;

WITH reclass AS (
            SELECT gen_random_uuid() AS journal_id, currency, sum(amount)::bigint AS balance
              FROM finance.postings WHERE account = 'asset:stripe_balance'
             GROUP BY currency HAVING sum(amount) <> 0
        ), journals AS (
            INSERT INTO finance.journals (journal_id, kind, source_event_id, currency)
            SELECT journal_id, 'reclassify_stripe_balance', journal_id, currency FROM reclass
        )
        INSERT INTO finance.postings (journal_id, account, amount, currency)
        SELECT journal_id, 'asset:stripe_balance:pending', balance, currency FROM reclass
        UNION ALL
        SELECT journal_id, 'asset:stripe_balance', -balance, currency FROM reclass;

-- downgrade
DROP INDEX finance.ix_journals_stripe_object;

ALTER TABLE finance.journals DROP COLUMN stripe_object_id;

-- migration 0004_payout_queue.py
-- upgrade
ALTER TABLE finance.payables ADD COLUMN reserved bigint NOT NULL DEFAULT 0;

ALTER TABLE finance.payables ADD COLUMN netted bigint NOT NULL DEFAULT 0;

CREATE TABLE finance.booking_starts (
            booking_id      text PRIMARY KEY,
            group_id        text,
            host_account_id text NOT NULL,
            starts_at       timestamptz NOT NULL,
            received_at     timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE finance.host_settings (
            host_account_id      text PRIMARY KEY,
            payout_delay_seconds integer CONSTRAINT ck_host_settings_delay
                CHECK (payout_delay_seconds >= 0),
            risk_tier            text,
            payouts_enabled      boolean NOT NULL DEFAULT true,
            updated_by           text,
            updated_at           timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE finance.reserve_policies (
            policy_id    text NOT NULL,
            version      integer NOT NULL,
            kind         text NOT NULL CONSTRAINT ck_reserve_policies_kind
                CHECK (kind IN ('rolling_percent', 'fixed', 'none')),
            percent_bps  integer NOT NULL DEFAULT 0,
            hold_days    integer NOT NULL DEFAULT 0,
            fixed_amount bigint NOT NULL DEFAULT 0,
            currency     text,
            created_by   text NOT NULL,
            note         text NOT NULL DEFAULT '',
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (policy_id, version)
        );

CREATE TABLE finance.reserve_assignments (
            scope       text NOT NULL CONSTRAINT ck_reserve_assignments_scope
                CHECK (scope IN ('platform', 'tier', 'host')),
            scope_key   text NOT NULL,
            policy_id   text NOT NULL,
            assigned_by text NOT NULL,
            assigned_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, scope_key)
        );

CREATE TABLE finance.payout_entries (
            entry_id        text PRIMARY KEY,
            kind            text NOT NULL DEFAULT 'payable' CONSTRAINT ck_payout_entries_kind
                CHECK (kind IN ('payable', 'reserve')),
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            group_id        text,
            purpose         text,
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            gross           bigint NOT NULL,
            reserve_amount  bigint NOT NULL DEFAULT 0,
            policy_id       text,
            policy_version  integer,
            netted          bigint NOT NULL DEFAULT 0,
            amount          bigint,
            state           text NOT NULL CONSTRAINT ck_payout_entries_state
                CHECK (state IN ('scheduled', 'held', 'releasable', 'released', 'transferred', 'failed', 'reversed')),
            holds           text[] NOT NULL DEFAULT '{}',
            due_at          timestamptz,
            release_id      text,
            transfer_id     text,
            failure_code    text,
            retries         integer NOT NULL DEFAULT 0,
            version         integer NOT NULL DEFAULT 0,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            FOREIGN KEY (payment_id, booking_id) REFERENCES finance.payables (payment_id, booking_id)
        );

CREATE INDEX ix_payout_entries_state_due ON finance.payout_entries (state, due_at);

CREATE INDEX ix_payout_entries_host ON finance.payout_entries (host_account_id);

CREATE INDEX ix_payout_entries_booking ON finance.payout_entries (booking_id);

CREATE UNIQUE INDEX uq_payout_entries_release ON finance.payout_entries (release_id);

CREATE TABLE finance.payout_entry_history (
            id         bigserial PRIMARY KEY,
            entry_id   text NOT NULL REFERENCES finance.payout_entries (entry_id),
            from_state text,
            to_state   text NOT NULL,
            trigger    text NOT NULL,
            reason     text,
            actor      text NOT NULL,
            note       text NOT NULL DEFAULT '',
            at         timestamptz NOT NULL
        );

CREATE INDEX ix_payout_entry_history ON finance.payout_entry_history (entry_id, id);

CREATE TABLE finance.reserves (
            reserve_id      text PRIMARY KEY,
            entry_id        text NOT NULL REFERENCES finance.payout_entries (entry_id),
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_reserves_amount CHECK (amount > 0),
            policy_id       text NOT NULL,
            policy_version  integer NOT NULL,
            release_at      timestamptz NOT NULL,
            state           text NOT NULL DEFAULT 'held' CONSTRAINT ck_reserves_state
                CHECK (state IN ('held', 'released')),
            released_at     timestamptz
        );

CREATE INDEX ix_reserves_host ON finance.reserves (host_account_id, currency, state);

CREATE TABLE finance.scheduled_jobs (
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

CREATE INDEX ix_scheduled_jobs_due ON finance.scheduled_jobs (due_at) WHERE status = 'pending';

-- downgrade
DROP TABLE finance.scheduled_jobs;

DROP TABLE finance.reserves;

DROP TABLE finance.payout_entry_history;

DROP TABLE finance.payout_entries;

DROP TABLE finance.reserve_assignments;

DROP TABLE finance.reserve_policies;

DROP TABLE finance.host_settings;

DROP TABLE finance.booking_starts;

ALTER TABLE finance.payables DROP COLUMN netted;

ALTER TABLE finance.payables DROP COLUMN reserved;

-- migration 0005_amendment_starts.py
-- upgrade
CREATE TABLE finance.amendment_starts (
            amendment_id text PRIMARY KEY,
            booking_id   text NOT NULL,
            starts_at    timestamptz NOT NULL,
            received_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE finance.amendment_starts;

-- migration 0006_payable_charge.py
-- upgrade
ALTER TABLE finance.payables ADD COLUMN charge_id text;

-- downgrade
ALTER TABLE finance.payables DROP COLUMN charge_id;

-- migration 0050_reconciliation_and_close.py
-- upgrade
ALTER TABLE finance.journals ADD COLUMN posted_on date, ADD COLUMN adjusts_day date;

ALTER TABLE finance.journals DISABLE TRIGGER journals_append_only;

UPDATE finance.journals SET posted_on = (posted_at AT TIME ZONE 'UTC')::date;

ALTER TABLE finance.journals ENABLE TRIGGER journals_append_only;

ALTER TABLE finance.journals ALTER COLUMN posted_on SET NOT NULL;

CREATE INDEX ix_journals_posted_on ON finance.journals (currency, posted_on);

CREATE TABLE finance.books_calendar (
            singleton    boolean PRIMARY KEY DEFAULT true CONSTRAINT ck_books_calendar_one
                CHECK (singleton),
            cutoff       interval NOT NULL DEFAULT '0',
            clock_offset interval NOT NULL DEFAULT '0'
        );

INSERT INTO finance.books_calendar DEFAULT VALUES;

CREATE FUNCTION finance.assign_posted_on() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE natural_day date; last_closed date;
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(hashtext('finance.books:' || NEW.currency));
            SELECT ((NEW.posted_at + c.clock_offset - c.cutoff) AT TIME ZONE 'UTC')::date
              INTO natural_day FROM finance.books_calendar c;
            natural_day := coalesce(NEW.posted_on, natural_day,
                                    (NEW.posted_at AT TIME ZONE 'UTC')::date);
            SELECT max(business_date) INTO last_closed FROM finance.day_closes
             WHERE currency = NEW.currency AND status = 'closed';
            IF last_closed IS NOT NULL AND natural_day <= last_closed THEN
                NEW.adjusts_day := natural_day;
                NEW.posted_on := last_closed + 1;
            ELSE
                NEW.posted_on := natural_day;
            END IF;
            RETURN NEW;
        END $$;

CREATE TRIGGER journals_posted_on BEFORE INSERT ON finance.journals
        FOR EACH ROW EXECUTE FUNCTION finance.assign_posted_on();

CREATE TABLE finance.stripe_balance_transactions (
            txn_id             text PRIMARY KEY,
            type               text NOT NULL,
            source             text,
            amount             bigint NOT NULL,
            fee                bigint NOT NULL,
            net                bigint NOT NULL,
            currency           text NOT NULL,
            status             text NOT NULL
                CONSTRAINT ck_sbt_status CHECK (status IN ('pending', 'available')),
            created            timestamptz NOT NULL,
            available_on       timestamptz,
            reporting_category text,
            imported_at        timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_sbt_source ON finance.stripe_balance_transactions (source);

CREATE INDEX ix_sbt_pending ON finance.stripe_balance_transactions (created) WHERE status = 'pending';

CREATE TABLE finance.recon_cursors (
            name             text PRIMARY KEY,
            watermark        timestamptz,
            ids_at_watermark text[] NOT NULL DEFAULT '{}',
            requested_at     timestamptz,
            last_started_at  timestamptz,
            last_finished_at timestamptz,
            imported         bigint NOT NULL DEFAULT 0
        );

CREATE TABLE finance.stripe_objects (
            source_event_id uuid NOT NULL,
            kind            text NOT NULL,
            object_id       text NOT NULL,
            payment_id      text,
            booking_id      text,
            amount          bigint NOT NULL,
            currency        text NOT NULL,
            recorded_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_event_id, kind)
        );

CREATE INDEX ix_stripe_objects_object ON finance.stripe_objects (object_id);

CREATE INDEX ix_stripe_objects_payment ON finance.stripe_objects (payment_id);

CREATE TABLE finance.recon_exceptions (
            exception_id bigserial PRIMARY KEY,
            kind         text NOT NULL,
            object_id    text NOT NULL,
            currency     text NOT NULL,
            detail       text NOT NULL,
            raised_at    timestamptz NOT NULL,
            status       text NOT NULL DEFAULT 'open'
                CONSTRAINT ck_recon_exceptions_status CHECK (status IN ('open', 'resolved')),
            resolved_at  timestamptz,
            resolved_by  text,
            note         text
        );

CREATE UNIQUE INDEX uq_recon_exceptions_open ON finance.recon_exceptions (object_id, kind) WHERE status = 'open';

CREATE TABLE finance.day_closes (
            business_date date NOT NULL,
            currency      text NOT NULL,
            status        text NOT NULL
                CONSTRAINT ck_day_closes_status CHECK (status IN ('failed', 'closed')),
            attempts      integer NOT NULL DEFAULT 1,
            blockers      jsonb NOT NULL DEFAULT '[]',
            report        jsonb NOT NULL,
            updated_at    timestamptz NOT NULL DEFAULT now(),
            closed_at     timestamptz,
            PRIMARY KEY (business_date, currency)
        );

CREATE TABLE finance.close_acknowledgements (
            business_date date NOT NULL,
            currency      text NOT NULL,
            item          text NOT NULL,
            amount        bigint NOT NULL,
            note          text NOT NULL CONSTRAINT ck_close_ack_note CHECK (note <> ''),
            actor         text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (business_date, currency, item, amount)
        );

-- downgrade
DROP TABLE finance.close_acknowledgements;

DROP TABLE finance.day_closes;

DROP TABLE finance.recon_exceptions;

DROP TABLE finance.stripe_objects;

DROP TABLE finance.recon_cursors;

DROP TABLE finance.stripe_balance_transactions;

DROP TRIGGER journals_posted_on ON finance.journals;

DROP FUNCTION finance.assign_posted_on();

DROP TABLE finance.books_calendar;

DROP INDEX finance.ix_journals_posted_on;

ALTER TABLE finance.journals DROP COLUMN posted_on, DROP COLUMN adjusts_day;

-- migration 0051_dispute_recoveries.py
-- upgrade
CREATE TABLE finance.dispute_recoveries (
            recovery_id     text PRIMARY KEY,
            dispute_id      text NOT NULL,
            payment_id      text NOT NULL,
            booking_id      text,
            host_account_id text NOT NULL,
            currency        text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_dispute_recoveries_amount
                CHECK (amount > 0),
            reversal_amount bigint NOT NULL DEFAULT 0 CONSTRAINT ck_dispute_recoveries_reversal
                CHECK (reversal_amount >= 0 AND reversal_amount <= amount),
            transfer_id     text,
            state           text NOT NULL CONSTRAINT ck_dispute_recoveries_state
                CHECK (state IN ('netting', 'reversal_requested', 'reversed', 'reversal_failed')),
            reversal_id     text,
            failure_code    text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_dispute_recoveries_dispute ON finance.dispute_recoveries (dispute_id);

CREATE INDEX ix_dispute_recoveries_transfer ON finance.dispute_recoveries (transfer_id) WHERE transfer_id IS NOT NULL;

-- downgrade
DROP TABLE finance.dispute_recoveries;

-- migration 0052_outbox_traceparent.py
-- upgrade
ALTER TABLE finance.outbox ADD COLUMN traceparent text;

-- downgrade
ALTER TABLE finance.outbox DROP COLUMN IF EXISTS traceparent;

-- migration 0053_idempotency_keys.py
-- upgrade
CREATE TABLE finance.idempotency_keys (
            principal     text NOT NULL,
            key           text NOT NULL,
            request_hash  text NOT NULL,
            status_code   integer NOT NULL,
            response      json NOT NULL,  -- json, not jsonb: replay the exact bytes
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (principal, key)
        );

-- downgrade
DROP TABLE IF EXISTS finance.idempotency_keys;

-- migration 0054_incremental_reconciliation.py
-- upgrade
ALTER TABLE finance.recon_cursors ADD COLUMN matched_at timestamptz;

CREATE INDEX ix_sbt_updated ON finance.stripe_balance_transactions (updated_at);

CREATE INDEX ix_sbt_object ON finance.stripe_balance_transactions ((coalesce(source, txn_id)));

CREATE INDEX ix_sbt_pending_due ON finance.stripe_balance_transactions (available_on) WHERE status = 'pending';

CREATE INDEX ix_stripe_objects_recorded ON finance.stripe_objects (recorded_at);

CREATE INDEX ix_journals_posted_at ON finance.journals (posted_at);

-- downgrade
DROP INDEX finance.ix_journals_posted_at;

DROP INDEX finance.ix_stripe_objects_recorded;

DROP INDEX finance.ix_sbt_pending_due;

DROP INDEX finance.ix_sbt_object;

DROP INDEX finance.ix_sbt_updated;

ALTER TABLE finance.recon_cursors DROP COLUMN matched_at;

-- migration 0055_journal_objects.py
-- upgrade
CREATE TABLE finance.journal_objects (
            kind             text NOT NULL,
            stripe_object_id text NOT NULL,
            PRIMARY KEY (kind, stripe_object_id)
        );

INSERT INTO finance.journal_objects (kind, stripe_object_id)
        SELECT DISTINCT kind, stripe_object_id FROM finance.journals
         WHERE stripe_object_id IS NOT NULL
           AND kind IN ('guest_payment_captured', 'guest_refund', 'host_transfer',
                        'host_transfer_reversed')
        ON CONFLICT DO NOTHING;

-- downgrade
DROP TABLE finance.journal_objects;

-- migration 0056_statistics_targets.py
-- upgrade
DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, CASE WHEN t.typname IN ('json', 'jsonb', 'bytea') THEN 0 ELSE 25 END AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = 'finance'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'finance'::regnamespace AND i.indkey[a.attnum - 1] = 0
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
                WHERE r.relnamespace = 'finance'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'finance'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS -1',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

