-- migration 0001_initial.py
-- upgrade
CREATE TABLE payments.customers (
            guest_id            text PRIMARY KEY,
            stripe_customer_id  text NOT NULL UNIQUE,
            created_at          timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE payments.payments (
            payment_id        text PRIMARY KEY,
            booking_id        text NOT NULL,
            purpose           text NOT NULL DEFAULT 'checkout',
            guest_id          text NOT NULL,
            amount            bigint NOT NULL CONSTRAINT ck_payments_amount CHECK (amount > 0),
            platform_fee      bigint NOT NULL
                CONSTRAINT ck_payments_fee CHECK (platform_fee BETWEEN 0 AND amount),
            currency          text NOT NULL CONSTRAINT ck_payments_currency
                CHECK (currency ~ '^[a-z]{3}$'),
            host_account_id   text NOT NULL,
            payment_method    text NOT NULL,
            payment_intent_id text,
            charge_id         text,
            status            text NOT NULL CONSTRAINT ck_payments_status
                CHECK (status IN ('authorized', 'failed', 'captured', 'voided')),
            stripe_status     text,
            captured_amount   bigint NOT NULL DEFAULT 0,
            card_brand        text,
            card_last4        text,
            failure_code      text,
            decline_code      text,
            failure_message   text,
            correlation_id    uuid NOT NULL,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_payments_booking_purpose UNIQUE (booking_id, purpose)
        );

CREATE INDEX ix_payments_intent ON payments.payments (payment_intent_id);

CREATE TABLE payments.stripe_webhook_events (
            id              bigserial PRIMARY KEY,
            stripe_event_id text NOT NULL CONSTRAINT uq_stripe_webhook_events_event UNIQUE,
            type            text NOT NULL,
            payload         jsonb NOT NULL,
            received_at     timestamptz NOT NULL DEFAULT now(),
            processed_at    timestamptz
        );

CREATE INDEX ix_stripe_webhook_events_pending ON payments.stripe_webhook_events (id) WHERE processed_at IS NULL;

CREATE TABLE payments.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );

CREATE INDEX ix_outbox_unpublished ON payments.outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION payments.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('payments_outbox', '');
            RETURN NULL;
        END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON payments.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION payments.outbox_notify();

CREATE TABLE payments.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE IF EXISTS payments.inbox;

DROP TABLE IF EXISTS payments.outbox;

DROP FUNCTION IF EXISTS payments.outbox_notify();

DROP TABLE payments.stripe_webhook_events;

DROP TABLE payments.payments;

DROP TABLE payments.customers;

-- migration 0002_saved_payment_methods.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN setup_intent_id text;

ALTER TABLE payments.payments ADD COLUMN saved_payment_method text;

ALTER TABLE payments.payments ADD COLUMN customer_id text;

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed'));

-- downgrade
ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided'));

ALTER TABLE payments.payments DROP COLUMN customer_id;

ALTER TABLE payments.payments DROP COLUMN saved_payment_method;

ALTER TABLE payments.payments DROP COLUMN setup_intent_id;

-- migration 0003_linked_booking_groups.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN group_id text;

ALTER TABLE payments.payments ADD COLUMN splits jsonb;

ALTER TABLE payments.payments ADD COLUMN transfer_group text;

ALTER TABLE payments.payments ALTER COLUMN host_account_id DROP NOT NULL;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_payee CHECK (host_account_id IS NOT NULL OR (group_id IS NOT NULL AND splits IS NOT NULL));

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed', 'cancelled'));

-- downgrade
DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM payments.payments WHERE group_id IS NOT NULL) THEN
                RAISE EXCEPTION 'group payments exist: cannot downgrade below 0003';
            END IF;
        END $$;

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed'));

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_payee;

ALTER TABLE payments.payments ALTER COLUMN host_account_id SET NOT NULL;

ALTER TABLE payments.payments DROP COLUMN transfer_group;

ALTER TABLE payments.payments DROP COLUMN splits;

ALTER TABLE payments.payments DROP COLUMN group_id;

-- migration 0004_refunds.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN tax bigint NOT NULL DEFAULT 0, ADD CONSTRAINT ck_payments_tax CHECK (tax BETWEEN 0 AND platform_fee);

ALTER TABLE payments.payments ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0, ADD CONSTRAINT ck_payments_refunded CHECK (refunded_amount BETWEEN 0 AND captured_amount);

CREATE TABLE payments.refunds (
            refund_id        text PRIMARY KEY,
            payment_id       text NOT NULL,
            booking_id       text NOT NULL,
            group_id         text,
            amount           bigint NOT NULL CONSTRAINT ck_refunds_amount CHECK (amount >= 0),
            currency         text NOT NULL CONSTRAINT ck_refunds_currency
                CHECK (currency ~ '^[a-z]{3}$'),
            platform_fee     bigint NOT NULL,
            host_amount      bigint NOT NULL,
            tax              bigint NOT NULL DEFAULT 0,
            host_account_id  text NOT NULL,
            lines            jsonb NOT NULL DEFAULT '[]',
            status           text NOT NULL DEFAULT 'pending' CONSTRAINT ck_refunds_status
                CHECK (status IN ('pending', 'succeeded', 'failed')),
            method           text CONSTRAINT ck_refunds_method
                CHECK (method IN ('refund', 'void', 'partial_capture', 'none')),
            stripe_refund_id text,
            attempts         integer NOT NULL DEFAULT 0,
            failure_code     text,
            last_error       text,
            correlation_id   uuid NOT NULL,
            source_event_id  uuid NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now(),
            decided_at       timestamptz
        );

CREATE INDEX ix_refunds_payment ON payments.refunds (payment_id);

CREATE INDEX ix_refunds_open ON payments.refunds (status, updated_at) WHERE status <> 'succeeded';

-- downgrade
DROP TABLE payments.refunds;

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_refunded;

ALTER TABLE payments.payments DROP COLUMN refunded_amount;

ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_tax;

ALTER TABLE payments.payments DROP COLUMN tax;

-- migration 0005_extra_charges.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN charge_request_id text;

CREATE UNIQUE INDEX uq_payments_charge_request ON payments.payments (charge_request_id) WHERE charge_request_id IS NOT NULL;

ALTER TABLE payments.refunds ADD COLUMN cause text NOT NULL DEFAULT 'cancellation' CONSTRAINT ck_refunds_cause CHECK (cause IN ('cancellation', 'amendment'));

-- downgrade
ALTER TABLE payments.refunds DROP COLUMN cause;

DROP INDEX payments.uq_payments_charge_request;

ALTER TABLE payments.payments DROP COLUMN charge_request_id;

-- migration 0006_authorization_expiry.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN expiry_notified_at timestamptz;

CREATE INDEX ix_payments_authorized_since ON payments.payments (created_at) WHERE status = 'authorized' AND expiry_notified_at IS NULL;

-- downgrade
DROP INDEX payments.ix_payments_authorized_since;

ALTER TABLE payments.payments DROP COLUMN expiry_notified_at;

-- migration 0007_host_accounts.py
-- upgrade
CREATE TABLE payments.host_accounts (
            host_account_id   text PRIMARY KEY,
            charges_enabled   boolean NOT NULL,
            payouts_enabled   boolean NOT NULL,
            details_submitted boolean NOT NULL DEFAULT false,
            stripe_updated_at timestamptz NOT NULL,
            updated_at        timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE payments.host_accounts;

-- migration 0008_transfers.py
-- upgrade
CREATE TABLE payments.transfers (
            release_id         text PRIMARY KEY,
            transfer_id        text,
            payment_id         text NOT NULL,
            booking_id         text NOT NULL,
            group_id           text,
            host_account_id    text NOT NULL,
            amount             bigint NOT NULL CONSTRAINT ck_transfers_amount CHECK (amount > 0),
            amount_reversed    bigint NOT NULL DEFAULT 0,
            currency           text NOT NULL CONSTRAINT ck_transfers_currency
                CHECK (currency ~ '^[a-z]{3}$'),
            transfer_group     text,
            destination_charge boolean NOT NULL DEFAULT false,
            status             text NOT NULL DEFAULT 'pending' CONSTRAINT ck_transfers_status
                CHECK (status IN ('pending', 'created', 'failed')),
            failure_code       text,
            failure_message    text,
            correlation_id     uuid NOT NULL,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_transfers_reversed CHECK (amount_reversed BETWEEN 0 AND amount),
            CONSTRAINT ck_transfers_created CHECK (status <> 'created' OR transfer_id IS NOT NULL)
        );

CREATE UNIQUE INDEX uq_transfers_transfer ON payments.transfers (transfer_id) WHERE NOT destination_charge;

CREATE INDEX ix_transfers_payment ON payments.transfers (payment_id, booking_id);

CREATE TABLE payments.transfer_reversals (
            reversal_key    text PRIMARY KEY,
            refund_id       text NOT NULL,
            release_id      text NOT NULL REFERENCES payments.transfers (release_id),
            payment_id      text NOT NULL,
            booking_id      text NOT NULL,
            host_account_id text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_transfer_reversals_amount
                CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_transfer_reversals_status
                CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
            reversal_id     text UNIQUE,
            attempts        integer NOT NULL DEFAULT 0,
            failure_code    text,
            last_error      text,
            correlation_id  uuid NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_transfer_reversals_pending ON payments.transfer_reversals (created_at) WHERE status = 'pending';

-- downgrade
DROP TABLE payments.transfer_reversals;

DROP TABLE payments.transfers;

-- migration 0009_bank_debits.py
-- upgrade
ALTER TABLE payments.payments
            ADD COLUMN payment_method_type text NOT NULL DEFAULT 'card'
                CONSTRAINT ck_payments_method_type
                CHECK (payment_method_type IN ('card', 'us_bank_account')),
            ADD COLUMN bank_name text,
            ADD COLUMN bank_last4 text,
            ADD COLUMN succeeded_at timestamptz,
            ADD COLUMN funds_hold_until timestamptz,
            ADD COLUMN funds_cleared_at timestamptz,
            ADD COLUMN returned_at timestamptz,
            ADD COLUMN return_code text,
            ADD COLUMN replaces_payment_id text;

-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_payments_status' AND conrelid = 'payments.payments'::regclass
ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed', 'cancelled', 'processing', 'returned'));

CREATE INDEX ix_payments_funds_hold ON payments.payments (funds_hold_until) WHERE funds_hold_until IS NOT NULL AND funds_cleared_at IS NULL AND returned_at IS NULL;

CREATE UNIQUE INDEX uq_payments_replaces ON payments.payments (replaces_payment_id) WHERE replaces_payment_id IS NOT NULL;

-- downgrade
UPDATE payments.payments SET status = 'failed' WHERE status IN ('processing', 'returned');

-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_payments_status' AND conrelid = 'payments.payments'::regclass
ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed', 'cancelled'));

DROP INDEX payments.uq_payments_replaces;

DROP INDEX payments.ix_payments_funds_hold;

ALTER TABLE payments.payments
            DROP COLUMN replaces_payment_id,
            DROP COLUMN return_code,
            DROP COLUMN returned_at,
            DROP COLUMN funds_cleared_at,
            DROP COLUMN funds_hold_until,
            DROP COLUMN succeeded_at,
            DROP COLUMN bank_last4,
            DROP COLUMN bank_name,
            DROP COLUMN payment_method_type;

-- migration 0010_deposits.py
-- upgrade
CREATE TABLE payments.deposits (
            payment_id      text PRIMARY KEY,
            booking_id      text NOT NULL,
            setup_intent_id text NOT NULL,
            payment_method  text NOT NULL,
            customer_id     text NOT NULL,
            amount          bigint NOT NULL CONSTRAINT ck_deposits_amount CHECK (amount > 0),
            currency        text NOT NULL,
            status          text NOT NULL DEFAULT 'secured'
                CONSTRAINT ck_deposits_status CHECK (status IN ('secured', 'released')),
            charged         bigint NOT NULL DEFAULT 0
                CONSTRAINT ck_deposits_charged CHECK (charged BETWEEN 0 AND amount),
            release_reason  text,
            released_at     timestamptz,
            created_at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_deposits_booking ON payments.deposits (booking_id);

-- downgrade
DROP TABLE payments.deposits;

-- migration 0011_reauthorizations.py
-- upgrade
-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_payments_status' AND conrelid = 'payments.payments'::regclass
ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed', 'cancelled', 'processing', 'returned', 'requires_action'));

ALTER TABLE payments.payments
            ADD COLUMN authorized_at timestamptz,
            ADD COLUMN renewals integer NOT NULL DEFAULT 0;

CREATE TABLE payments.replaced_authorizations (
            payment_intent_id text PRIMARY KEY,
            payment_id        text NOT NULL
                              REFERENCES payments.payments (payment_id) ON DELETE CASCADE,
            replaced_by       text NOT NULL,
            replaced_at       timestamptz NOT NULL DEFAULT now(),
            cancelled_at      timestamptz,
            cancel_error      text
        );

CREATE INDEX replaced_authorizations_pending ON payments.replaced_authorizations (replaced_at) WHERE cancelled_at IS NULL;

-- downgrade
UPDATE payments.payments SET status = 'failed' WHERE status = 'requires_action';

-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_payments_status' AND conrelid = 'payments.payments'::regclass
ALTER TABLE payments.payments DROP CONSTRAINT ck_payments_status;

ALTER TABLE payments.payments ADD CONSTRAINT ck_payments_status CHECK (status IN ('authorized', 'failed', 'captured', 'voided', 'saved', 'charge_failed', 'cancelled', 'processing', 'returned'));

DROP TABLE payments.replaced_authorizations;

ALTER TABLE payments.payments DROP COLUMN authorized_at, DROP COLUMN renewals;

-- migration 0012_purposes_and_causes.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN payment_purpose text NOT NULL DEFAULT 'checkout' CONSTRAINT ck_payments_payment_purpose CHECK (payment_purpose IN ('checkout', 'group_checkout', 'extra_charge', 'deposit_claim'));

UPDATE payments.payments SET payment_purpose = CASE WHEN charge_request_id IS NOT NULL THEN 'extra_charge' WHEN group_id IS NOT NULL THEN 'group_checkout' ELSE 'checkout' END WHERE charge_request_id IS NOT NULL OR group_id IS NOT NULL;

ALTER TABLE payments.refunds DROP CONSTRAINT ck_refunds_cause;

UPDATE payments.refunds SET cause = 'other' WHERE cause = 'cancellation';

ALTER TABLE payments.refunds ALTER COLUMN cause SET DEFAULT 'other';

ALTER TABLE payments.refunds ADD CONSTRAINT ck_refunds_cause CHECK (cause IN ('guest_cancellation', 'host_cancellation', 'admin_cancellation', 'group_leg_cancelled', 'amendment', 'checkout_failed', 'deposit_release', 'other'));

-- downgrade
ALTER TABLE payments.refunds DROP CONSTRAINT ck_refunds_cause;

UPDATE payments.refunds SET cause = 'cancellation' WHERE cause <> 'amendment';

ALTER TABLE payments.refunds ALTER COLUMN cause SET DEFAULT 'cancellation';

ALTER TABLE payments.refunds ADD CONSTRAINT ck_refunds_cause CHECK (cause IN ('cancellation', 'amendment'));

ALTER TABLE payments.payments DROP COLUMN payment_purpose;

-- migration 0013_card_disputes.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN three_d_secure boolean NOT NULL DEFAULT false;

CREATE TABLE payments.disputes (
            dispute_id           text PRIMARY KEY,
            processor_dispute_id text NOT NULL CONSTRAINT uq_disputes_processor UNIQUE,
            payment_id           text NOT NULL,
            booking_id           text NOT NULL,
            charge_id            text,
            amount               bigint NOT NULL,
            currency             text NOT NULL,
            reason               text NOT NULL,
            status               text NOT NULL,
            due_by               timestamptz,
            has_evidence         boolean NOT NULL DEFAULT false,
            submission_count     integer NOT NULL DEFAULT 0,
            opened_at            timestamptz NOT NULL,
            closed_at            timestamptz,
            accepting            boolean NOT NULL DEFAULT false,
            created_at           timestamptz NOT NULL DEFAULT now(),
            updated_at           timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_disputes_payment ON payments.disputes (payment_id);

CREATE TABLE payments.dispute_balance_transactions (
            balance_transaction_id text PRIMARY KEY,
            dispute_id             text NOT NULL REFERENCES payments.disputes (dispute_id),
            kind                   text NOT NULL CONSTRAINT ck_dispute_balance_transactions_kind
                CHECK (kind IN ('withdrawn', 'reinstated')),
            amount                 bigint NOT NULL,
            fee                    bigint NOT NULL,
            currency               text NOT NULL,
            created_at             timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE payments.dispute_actions (
            request_id  text PRIMARY KEY,
            dispute_id  text NOT NULL,
            action      text NOT NULL CONSTRAINT ck_dispute_actions_action
                CHECK (action IN ('submit', 'accept')),
            succeeded   boolean NOT NULL,
            file_ids    jsonb NOT NULL DEFAULT '[]',
            code        text,
            message     text,
            created_at  timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE payments.early_fraud_warnings (
            warning_id  text PRIMARY KEY,
            payment_id  text NOT NULL,
            charge_id   text,
            fraud_type  text NOT NULL,
            actionable  boolean NOT NULL,
            received_at timestamptz NOT NULL
        );

ALTER TABLE payments.transfer_reversals ALTER COLUMN refund_id DROP NOT NULL;

ALTER TABLE payments.transfer_reversals ADD COLUMN request_id text CONSTRAINT uq_transfer_reversals_request UNIQUE;

ALTER TABLE payments.transfer_reversals ADD COLUMN cause text NOT NULL DEFAULT 'refund' CONSTRAINT ck_transfer_reversals_cause CHECK (cause IN ('refund', 'dispute_lost'));

-- downgrade
ALTER TABLE payments.transfer_reversals DROP COLUMN cause;

ALTER TABLE payments.transfer_reversals DROP COLUMN request_id;

DELETE FROM payments.transfer_reversals WHERE refund_id IS NULL;

ALTER TABLE payments.transfer_reversals ALTER COLUMN refund_id SET NOT NULL;

DROP TABLE payments.early_fraud_warnings;

DROP TABLE payments.dispute_actions;

DROP TABLE payments.dispute_balance_transactions;

DROP TABLE payments.disputes;

ALTER TABLE payments.payments DROP COLUMN three_d_secure;

-- migration 0014_subjects.py
-- upgrade
ALTER TABLE payments.payments ADD COLUMN subject_id text;

ALTER TABLE payments.refunds ADD COLUMN subject_id text;

-- downgrade
ALTER TABLE payments.refunds DROP COLUMN subject_id;

ALTER TABLE payments.payments DROP COLUMN subject_id;

-- migration 0015_outbox_traceparent.py
-- upgrade
ALTER TABLE payments.outbox ADD COLUMN traceparent text;

-- downgrade
ALTER TABLE payments.outbox DROP COLUMN IF EXISTS traceparent;

-- migration 0016_debit_return_reversals.py
-- upgrade
ALTER TABLE payments.transfer_reversals DROP CONSTRAINT ck_transfer_reversals_cause;

ALTER TABLE payments.transfer_reversals ADD CONSTRAINT ck_transfer_reversals_cause CHECK (cause IN ('refund', 'dispute_lost', 'debit_returned'));

-- downgrade
ALTER TABLE payments.transfer_reversals DROP CONSTRAINT ck_transfer_reversals_cause;

UPDATE payments.transfer_reversals SET cause = 'dispute_lost' WHERE cause = 'debit_returned';

ALTER TABLE payments.transfer_reversals ADD CONSTRAINT ck_transfer_reversals_cause CHECK (cause IN ('refund', 'dispute_lost'));

-- migration 0017_authorized_at_index.py
-- upgrade
CREATE INDEX ix_payments_authorized_at ON payments.payments ((coalesce(authorized_at, created_at))) WHERE status = 'authorized';

DROP INDEX payments.ix_payments_authorized_since;

-- downgrade
CREATE INDEX ix_payments_authorized_since ON payments.payments (created_at) WHERE status = 'authorized' AND expiry_notified_at IS NULL;

DROP INDEX payments.ix_payments_authorized_at;

-- migration 0018_webhook_failures.py
-- upgrade
ALTER TABLE payments.stripe_webhook_events ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN last_error text, ADD COLUMN failed_at timestamptz;

DROP INDEX payments.ix_stripe_webhook_events_pending;

CREATE INDEX ix_stripe_webhook_events_pending ON payments.stripe_webhook_events (id) WHERE processed_at IS NULL AND failed_at IS NULL;

CREATE INDEX ix_stripe_webhook_events_failed ON payments.stripe_webhook_events (id) WHERE failed_at IS NOT NULL;

-- downgrade
DROP INDEX payments.ix_stripe_webhook_events_failed;

DROP INDEX payments.ix_stripe_webhook_events_pending;

CREATE INDEX ix_stripe_webhook_events_pending ON payments.stripe_webhook_events (id) WHERE processed_at IS NULL;

ALTER TABLE payments.stripe_webhook_events DROP COLUMN attempts, DROP COLUMN last_error, DROP COLUMN failed_at;

-- migration 0019_refund_reopened.py
-- upgrade
ALTER TABLE payments.refunds ADD COLUMN reopened integer NOT NULL DEFAULT 0;

-- downgrade
ALTER TABLE payments.refunds DROP COLUMN reopened;

-- migration 0020_statistics_targets.py
-- upgrade
DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, CASE WHEN t.typname IN ('json', 'jsonb', 'bytea') THEN 0 ELSE 25 END AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = 'payments'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'payments'::regnamespace AND i.indkey[a.attnum - 1] = 0
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
                WHERE r.relnamespace = 'payments'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'payments'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS -1',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

