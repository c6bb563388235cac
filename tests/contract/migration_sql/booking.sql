-- migration 0001_initial.py
-- upgrade
CREATE TABLE booking.listings (
            listing_id          text PRIMARY KEY,
            host_id             text NOT NULL,
            host_account_id     text NOT NULL,
            title               text NOT NULL,
            hourly_rate         bigint NOT NULL CONSTRAINT ck_listings_rate CHECK (hourly_rate >= 0),
            currency            text NOT NULL CONSTRAINT ck_listings_currency CHECK (currency ~ '^[a-z]{3}$'),
            platform_fee_bps    integer NOT NULL
                CONSTRAINT ck_listings_fee CHECK (platform_fee_bps BETWEEN 0 AND 10000),
            cancellation_policy text NOT NULL,
            min_hours           integer NOT NULL DEFAULT 1,
            active              boolean NOT NULL DEFAULT true,
            updated_at          timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE booking.bookings (
            booking_id      uuid PRIMARY KEY,
            guest_id        text NOT NULL,
            listing_id      text NOT NULL REFERENCES booking.listings (listing_id),
            host_id         text NOT NULL,
            host_account_id text NOT NULL,
            starts_at       timestamptz NOT NULL,
            ends_at         timestamptz NOT NULL,
            status          text NOT NULL CONSTRAINT ck_bookings_status
                CHECK (status IN ('pending_payment', 'confirmed', 'failed')),
            payment_status  text NOT NULL DEFAULT 'none' CONSTRAINT ck_bookings_payment_status
                CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed')),
            amount          bigint NOT NULL CONSTRAINT ck_bookings_amount CHECK (amount >= 0),
            platform_fee    bigint NOT NULL
                CONSTRAINT ck_bookings_fee CHECK (platform_fee BETWEEN 0 AND amount),
            currency        text NOT NULL CONSTRAINT ck_bookings_currency CHECK (currency ~ '^[a-z]{3}$'),
            payment_method  text NOT NULL,
            payment_id      text,
            failure_reason  text,
            failure_detail  text,
            correlation_id  uuid NOT NULL,
            version         integer NOT NULL DEFAULT 1,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_bookings_range CHECK (ends_at > starts_at),
            -- No two slot-holding bookings of one listing may overlap: the database, not the
            -- application, is the last word on double bookings.
            CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (
                listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&
            ) WHERE (status IN ('pending_payment', 'confirmed'))
        );

CREATE INDEX ix_bookings_guest ON booking.bookings (guest_id, created_at);

CREATE TABLE booking.idempotency_keys (
            principal     text NOT NULL,
            key           text NOT NULL,
            request_hash  text NOT NULL,
            status_code   integer NOT NULL,
            response      json NOT NULL,  -- json, not jsonb: replay the exact bytes
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (principal, key)
        );

CREATE TABLE booking.outbox (
            id           bigserial PRIMARY KEY,
            event_id     uuid NOT NULL UNIQUE,
            topic        text NOT NULL,
            key          text NOT NULL,
            event_type   text NOT NULL,
            payload      bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        );

CREATE INDEX ix_outbox_unpublished ON booking.outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION booking.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('booking_outbox', '');
            RETURN NULL;
        END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON booking.outbox
        FOR EACH STATEMENT EXECUTE FUNCTION booking.outbox_notify();

CREATE TABLE booking.inbox (
            event_id    uuid PRIMARY KEY,
            event_type  text NOT NULL,
            topic       text NOT NULL,
            partition   integer NOT NULL,
            "offset"    bigint NOT NULL,
            handled_at  timestamptz NOT NULL DEFAULT now()
        );

-- downgrade
DROP TABLE IF EXISTS booking.inbox;

DROP TABLE IF EXISTS booking.outbox;

DROP FUNCTION IF EXISTS booking.outbox_notify();

DROP TABLE booking.idempotency_keys;

DROP TABLE booking.bookings;

DROP TABLE booking.listings;

-- migration 0002_checkout_hold_expiry.py
-- upgrade
CREATE TABLE booking.scheduled_jobs (
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

CREATE INDEX ix_scheduled_jobs_due ON booking.scheduled_jobs (due_at) WHERE status = 'pending';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'confirmed', 'failed', 'expired'));

-- downgrade
UPDATE booking.bookings SET status = 'failed' WHERE status = 'expired';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'confirmed', 'failed'));

DROP TABLE booking.scheduled_jobs;

-- migration 0003_request_to_book.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN instant_book boolean NOT NULL DEFAULT true;

ALTER TABLE booking.listings ADD COLUMN response_window_hours integer NOT NULL DEFAULT 24 CONSTRAINT ck_listings_response_window CHECK (response_window_hours >= 1);

ALTER TABLE booking.bookings ADD COLUMN mode text NOT NULL DEFAULT 'instant' CONSTRAINT ck_bookings_mode CHECK (mode IN ('instant', 'request'));

ALTER TABLE booking.bookings ADD COLUMN respond_by timestamptz;

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed'));

-- downgrade
UPDATE booking.bookings SET status = 'failed' WHERE status IN ('awaiting_host', 'declined');

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'confirmed'));

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'confirmed', 'failed', 'expired'));

ALTER TABLE booking.bookings DROP COLUMN respond_by;

ALTER TABLE booking.bookings DROP COLUMN mode;

ALTER TABLE booking.listings DROP COLUMN response_window_hours;

ALTER TABLE booking.listings DROP COLUMN instant_book;

-- migration 0004_smart_invites.py
-- upgrade
CREATE TABLE booking.invites (
            invite_id      uuid PRIMARY KEY,
            host_id        text NOT NULL,
            guest_id       text NOT NULL,
            listing_id     text NOT NULL REFERENCES booking.listings (listing_id),
            starts_at      timestamptz NOT NULL,
            ends_at        timestamptz NOT NULL,
            amount         bigint NOT NULL CONSTRAINT ck_invites_amount CHECK (amount > 0),
            currency       text NOT NULL,
            expires_at     timestamptz NOT NULL,
            note           text NOT NULL DEFAULT '',
            status         text NOT NULL DEFAULT 'open' CONSTRAINT ck_invites_status
                CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'expired')),
            booking_id     uuid REFERENCES booking.bookings (booking_id),
            correlation_id uuid NOT NULL,
            version        integer NOT NULL DEFAULT 1,
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_invites_range CHECK (ends_at > starts_at)
        );

CREATE INDEX ix_invites_guest ON booking.invites (guest_id, created_at);

CREATE INDEX ix_invites_host ON booking.invites (host_id, created_at);

-- downgrade
DROP TABLE booking.invites;

-- migration 0005_completed_bookings.py
-- upgrade
ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed'));

-- downgrade
UPDATE booking.bookings SET status = 'confirmed' WHERE status = 'completed';

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed'));

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined'));

-- migration 0006_payment_due.py
-- upgrade
ALTER TABLE booking.bookings ADD COLUMN pay_by timestamptz;

ALTER TABLE booking.bookings ADD COLUMN payment_attempts integer NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released'));

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_payment_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_payment_status CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed', 'saved'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due'));

-- downgrade
UPDATE booking.bookings SET status = 'failed' WHERE status IN ('payment_due', 'released');

UPDATE booking.bookings SET payment_status = 'none' WHERE payment_status = 'saved';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed'));

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_payment_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_payment_status CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed'));

ALTER TABLE booking.bookings DROP COLUMN payment_attempts;

ALTER TABLE booking.bookings DROP COLUMN pay_by;

-- migration 0007_docs_before_pay.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN required_documents jsonb NOT NULL DEFAULT '[]';

ALTER TABLE booking.bookings ADD COLUMN save_for_later boolean NOT NULL DEFAULT false;

ALTER TABLE booking.bookings ADD COLUMN envelope_id text;

ALTER TABLE booking.bookings ADD COLUMN signing_url text;

CREATE INDEX ix_bookings_envelope ON booking.bookings (envelope_id);

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released', 'awaiting_signatures'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due', 'awaiting_signatures'));

CREATE TABLE booking.esign_envelopes (
    envelope_id        text PRIMARY KEY,
    envelope_key       text NOT NULL UNIQUE,
    request_hash       text NOT NULL,
    signer_id          text NOT NULL,
    signer_name        text NOT NULL,
    signer_email       text NOT NULL,
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
    status             text NOT NULL DEFAULT 'sent'
                       CHECK (status IN ('sent', 'signed', 'declined', 'expired', 'voided')),
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    decided_at         timestamptz,
    decided_ip         text,
    decided_user_agent text,
    void_reason        text,
    notified_at        timestamptz,
    CHECK ((status = 'sent') = (decided_at IS NULL))
);

CREATE INDEX esign_envelopes_open_by_expiry ON booking.esign_envelopes (expires_at) WHERE status = 'sent';

CREATE INDEX esign_envelopes_unnotified ON booking.esign_envelopes (decided_at) WHERE status <> 'sent' AND notified_at IS NULL;

CREATE TABLE booking.esign_documents (
    envelope_id  text NOT NULL REFERENCES booking.esign_envelopes (envelope_id) ON DELETE CASCADE,
    document_id  text NOT NULL,
    position     integer NOT NULL,
    title        text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    sha256       text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    UNIQUE (envelope_id, position)
);

CREATE TABLE booking.esign_signatures (
    envelope_id text NOT NULL,
    document_id text NOT NULL,
    signer_id   text NOT NULL,
    signed_at   timestamptz NOT NULL,
    signer_ip   text,
    user_agent  text,
    sha256      text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    FOREIGN KEY (envelope_id, document_id)
        REFERENCES booking.esign_documents (envelope_id, document_id) ON DELETE CASCADE
);

-- downgrade
DROP TABLE IF EXISTS booking.esign_signatures;

DROP TABLE IF EXISTS booking.esign_documents;

DROP TABLE IF EXISTS booking.esign_envelopes;

UPDATE booking.bookings SET status = 'failed' WHERE status = 'awaiting_signatures';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due'));

DROP INDEX booking.ix_bookings_envelope;

ALTER TABLE booking.bookings DROP COLUMN signing_url;

ALTER TABLE booking.bookings DROP COLUMN envelope_id;

ALTER TABLE booking.bookings DROP COLUMN save_for_later;

ALTER TABLE booking.listings DROP COLUMN required_documents;

-- migration 0008_dropbox_sign.py
-- upgrade
CREATE TABLE booking.esign_dropbox_sign_requests (
    envelope_key         text PRIMARY KEY,
    request_hash         text NOT NULL,
    state                text NOT NULL CHECK (state IN ('pending', 'sent')),
    signature_request_id text UNIQUE,
    signing_url          text,
    signer_id            text NOT NULL,
    document_ids         jsonb NOT NULL,
    expires_at           timestamptz NOT NULL,
    attempts             integer NOT NULL DEFAULT 1,
    claimed_at           timestamptz NOT NULL,
    sent_at              timestamptz,
    CHECK ((state = 'sent') = (signature_request_id IS NOT NULL))
);

-- downgrade
DROP TABLE IF EXISTS booking.esign_dropbox_sign_requests;

-- migration 0009_linked_booking_groups.py
-- upgrade
CREATE TABLE booking.checkout_groups (
            group_id        uuid PRIMARY KEY,
            guest_id        text NOT NULL,
            status          text NOT NULL CONSTRAINT ck_checkout_groups_status CHECK (status IN (
                'awaiting_signatures', 'pending_payment', 'awaiting_hosts', 'capturing',
                'confirmed', 'failed')),
            payment_status  text NOT NULL DEFAULT 'none' CONSTRAINT ck_checkout_groups_payment
                CHECK (payment_status IN
                    ('none', 'authorized', 'saved', 'captured', 'voided', 'failed')),
            amount          bigint NOT NULL CONSTRAINT ck_checkout_groups_amount
                CHECK (amount > 0),
            platform_fee    bigint NOT NULL CONSTRAINT ck_checkout_groups_fee
                CHECK (platform_fee BETWEEN 0 AND amount),
            currency        text NOT NULL,
            payment_method  text NOT NULL,
            save_for_later  boolean NOT NULL DEFAULT false,
            payment_id      text,
            hold_until      timestamptz NOT NULL,
            failure_reason  text,
            failure_detail  text,
            failed_booking_id uuid,
            correlation_id  uuid NOT NULL,
            version         integer NOT NULL DEFAULT 0,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_checkout_groups_guest ON booking.checkout_groups (guest_id);

ALTER TABLE booking.bookings ADD COLUMN group_id uuid REFERENCES booking.checkout_groups (group_id);

CREATE INDEX ix_bookings_group ON booking.bookings (group_id);

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released', 'awaiting_signatures', 'awaiting_group'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due', 'awaiting_signatures', 'awaiting_group'));

-- downgrade
UPDATE booking.bookings SET status = 'failed' WHERE status = 'awaiting_group';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released', 'awaiting_signatures'));

ALTER TABLE booking.bookings DROP CONSTRAINT ex_bookings_no_overlap;

ALTER TABLE booking.bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due', 'awaiting_signatures'));

DROP INDEX booking.ix_bookings_group;

ALTER TABLE booking.bookings DROP COLUMN group_id;

DROP TABLE booking.checkout_groups;

-- migration 0010_invite_extras.py
-- upgrade
ALTER TABLE booking.invites ADD COLUMN extras jsonb NOT NULL DEFAULT '[]';

-- downgrade
ALTER TABLE booking.invites DROP COLUMN extras;

-- migration 0011_quotes_policies_cancellations.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN rate_unit text NOT NULL DEFAULT 'hour' CONSTRAINT ck_listings_rate_unit CHECK (rate_unit IN ('hour', 'day'));

ALTER TABLE booking.listings ADD COLUMN daily_rate bigint;

ALTER TABLE booking.listings ADD COLUMN cleaning_fee bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.listings ADD COLUMN guest_service_fee_bps integer NOT NULL DEFAULT 0;

ALTER TABLE booking.listings ADD COLUMN max_guests integer NOT NULL DEFAULT 100;

ALTER TABLE booking.listings ADD COLUMN extras jsonb NOT NULL DEFAULT '[]';

ALTER TABLE booking.listings ADD COLUMN tax_jurisdiction text;

CREATE TABLE booking.cancellation_policies (
            name        text NOT NULL,
            version     integer NOT NULL CONSTRAINT ck_policies_version CHECK (version >= 1),
            definition  jsonb NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (name, version)
        );

INSERT INTO booking.cancellation_policies (name, version, definition) VALUES ('flexible', 1, '{"name": "flexible", "version": 1, "bands": [{"hours_before": 24, "refund_bps": 10000}], "grace_hours": 24, "grace_min_lead_hours": 48, "service_fee": "grace_only", "host_penalty_bps": 1000}');

INSERT INTO booking.cancellation_policies (name, version, definition) VALUES ('moderate', 1, '{"name": "moderate", "version": 1, "bands": [{"hours_before": 120, "refund_bps": 10000}, {"hours_before": 24, "refund_bps": 5000}], "grace_hours": 24, "grace_min_lead_hours": 48, "service_fee": "grace_only", "host_penalty_bps": 1000}');

INSERT INTO booking.cancellation_policies (name, version, definition) VALUES ('strict', 1, '{"name": "strict", "version": 1, "bands": [{"hours_before": 336, "refund_bps": 10000}, {"hours_before": 168, "refund_bps": 5000}], "grace_hours": 24, "grace_min_lead_hours": 48, "service_fee": "grace_only", "host_penalty_bps": 1000}');

CREATE TABLE booking.tax_rates (
            jurisdiction text NOT NULL,
            tax_code     text NOT NULL,
            version      integer NOT NULL DEFAULT 1,
            rate_bps     integer NOT NULL CONSTRAINT ck_tax_rates_rate
                CHECK (rate_bps BETWEEN 0 AND 10000),
            valid_from   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (jurisdiction, tax_code, version)
        );

INSERT INTO booking.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) VALUES ('us-ny-nyc', 'space_rental', 875, '2026-01-01T00:00:00Z');

INSERT INTO booking.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) VALUES ('us-ny-nyc', 'extras', 875, '2026-01-01T00:00:00Z');

INSERT INTO booking.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) VALUES ('us-ny-nyc', 'cleaning', 875, '2026-01-01T00:00:00Z');

INSERT INTO booking.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) VALUES ('us-ny-nyc', 'labour', 0, '2026-01-01T00:00:00Z');

INSERT INTO booking.tax_rates (jurisdiction, tax_code, rate_bps, valid_from) VALUES ('us-ny-nyc', 'service_fee', 0, '2026-01-01T00:00:00Z');

CREATE TABLE booking.quotes (
            quote_id    uuid PRIMARY KEY,
            guest_id    text NOT NULL,
            listing_id  text NOT NULL,
            starts_at   timestamptz NOT NULL,
            ends_at     timestamptz NOT NULL,
            guests      integer NOT NULL,
            extras      jsonb NOT NULL,
            quote       jsonb NOT NULL,
            expires_at  timestamptz NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );

ALTER TABLE booking.bookings ADD COLUMN quote jsonb;

ALTER TABLE booking.bookings ADD COLUMN policy jsonb;

ALTER TABLE booking.bookings ADD COLUMN guests integer NOT NULL DEFAULT 1;

ALTER TABLE booking.bookings ADD COLUMN extras jsonb NOT NULL DEFAULT '{}';

ALTER TABLE booking.bookings ADD COLUMN tax bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings ADD COLUMN cancelled_by text;

ALTER TABLE booking.bookings ADD COLUMN cancelled_at timestamptz;

ALTER TABLE booking.bookings ADD COLUMN cancel_reason text;

ALTER TABLE booking.bookings ADD COLUMN refund jsonb;

ALTER TABLE booking.bookings ADD COLUMN refund_status text NOT NULL DEFAULT 'none' CONSTRAINT ck_bookings_refund_status CHECK (refund_status IN ('none', 'pending', 'refunded', 'failed'));

ALTER TABLE booking.bookings ADD COLUMN refund_failure text;

ALTER TABLE booking.bookings ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released', 'awaiting_signatures', 'awaiting_group', 'cancelled'));

-- downgrade
UPDATE booking.bookings SET status = 'failed' WHERE status = 'cancelled';

ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_status CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', 'completed', 'payment_due', 'released', 'awaiting_signatures', 'awaiting_group'));

ALTER TABLE booking.bookings DROP COLUMN refunded_amount;

ALTER TABLE booking.bookings DROP COLUMN refund_failure;

ALTER TABLE booking.bookings DROP COLUMN refund_status;

ALTER TABLE booking.bookings DROP COLUMN refund;

ALTER TABLE booking.bookings DROP COLUMN cancel_reason;

ALTER TABLE booking.bookings DROP COLUMN cancelled_at;

ALTER TABLE booking.bookings DROP COLUMN cancelled_by;

ALTER TABLE booking.bookings DROP COLUMN tax;

ALTER TABLE booking.bookings DROP COLUMN extras;

ALTER TABLE booking.bookings DROP COLUMN guests;

ALTER TABLE booking.bookings DROP COLUMN policy;

ALTER TABLE booking.bookings DROP COLUMN quote;

DROP TABLE booking.quotes;

DROP TABLE booking.tax_rates;

DROP TABLE booking.cancellation_policies;

ALTER TABLE booking.listings DROP COLUMN tax_jurisdiction;

ALTER TABLE booking.listings DROP COLUMN extras;

ALTER TABLE booking.listings DROP COLUMN max_guests;

ALTER TABLE booking.listings DROP COLUMN guest_service_fee_bps;

ALTER TABLE booking.listings DROP COLUMN cleaning_fee;

ALTER TABLE booking.listings DROP COLUMN daily_rate;

ALTER TABLE booking.listings DROP COLUMN rate_unit;

-- migration 0012_amendments.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN overtime_hourly_rate bigint;

CREATE TABLE booking.amendments (
            amendment_id  uuid PRIMARY KEY,
            booking_id    uuid NOT NULL REFERENCES booking.bookings (booking_id),
            kind          text NOT NULL CONSTRAINT ck_amendments_kind
                CHECK (kind IN ('change', 'overtime')),
            proposed_by   text NOT NULL CONSTRAINT ck_amendments_by
                CHECK (proposed_by IN ('guest', 'host')),
            status        text NOT NULL DEFAULT 'proposed' CONSTRAINT ck_amendments_status
                CHECK (status IN ('proposed', 'charging', 'applied', 'rejected', 'failed',
                                  'withdrawn', 'disputed', 'expired')),
            starts_at     timestamptz NOT NULL,
            ends_at       timestamptz NOT NULL,
            guests        integer NOT NULL,
            extras        jsonb NOT NULL,
            quote         jsonb NOT NULL,
            previous      jsonb NOT NULL,
            delta         bigint NOT NULL,
            currency      text NOT NULL,
            respond_by    timestamptz NOT NULL,
            failure_reason text,
            correlation_id uuid NOT NULL,
            version       integer NOT NULL DEFAULT 0,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );

CREATE UNIQUE INDEX uq_amendments_one_open ON booking.amendments (booking_id) WHERE status IN ('proposed', 'charging');

-- downgrade
DROP TABLE booking.amendments;

ALTER TABLE booking.listings DROP COLUMN overtime_hourly_rate;

-- migration 0013_amendment_signatures.py
-- upgrade
ALTER TABLE booking.amendments ADD COLUMN needs_signatures boolean NOT NULL DEFAULT false;

ALTER TABLE booking.amendments ADD COLUMN envelope_id text;

ALTER TABLE booking.amendments ADD COLUMN signing_url text;

CREATE INDEX ix_amendments_envelope ON booking.amendments (envelope_id);

ALTER TABLE booking.amendments DROP CONSTRAINT ck_amendments_status;

ALTER TABLE booking.amendments ADD CONSTRAINT ck_amendments_status CHECK (status IN ('proposed', 'charging', 'applied', 'rejected', 'failed', 'withdrawn', 'disputed', 'expired', 'awaiting_signatures'));

DROP INDEX booking.uq_amendments_one_open;

CREATE UNIQUE INDEX uq_amendments_one_open ON booking.amendments (booking_id) WHERE status IN ('proposed', 'charging', 'awaiting_signatures');

-- downgrade
UPDATE booking.amendments SET status = 'failed' WHERE status = 'awaiting_signatures';

ALTER TABLE booking.amendments DROP CONSTRAINT ck_amendments_status;

ALTER TABLE booking.amendments ADD CONSTRAINT ck_amendments_status CHECK (status IN ('proposed', 'charging', 'applied', 'rejected', 'failed', 'withdrawn', 'disputed', 'expired'));

DROP INDEX booking.uq_amendments_one_open;

CREATE UNIQUE INDEX uq_amendments_one_open ON booking.amendments (booking_id) WHERE status IN ('proposed', 'charging');

DROP INDEX booking.ix_amendments_envelope;

ALTER TABLE booking.amendments DROP COLUMN signing_url;

ALTER TABLE booking.amendments DROP COLUMN envelope_id;

ALTER TABLE booking.amendments DROP COLUMN needs_signatures;

-- migration 0014_amendment_refund_status.py
-- upgrade
ALTER TABLE booking.amendments ADD COLUMN refund_status text NOT NULL DEFAULT 'none' CONSTRAINT ck_amendments_refund_status CHECK (refund_status IN ('none', 'pending', 'refunded', 'failed'));

ALTER TABLE booking.amendments ADD COLUMN refund_failure text;

-- downgrade
ALTER TABLE booking.amendments DROP COLUMN refund_failure;

ALTER TABLE booking.amendments DROP COLUMN refund_status;

-- migration 0015_amendment_charge_payment.py
-- upgrade
ALTER TABLE booking.amendments ADD COLUMN charge_payment_id text;

-- downgrade
ALTER TABLE booking.amendments DROP COLUMN charge_payment_id;

-- migration 0016_host_accounts.py
-- upgrade
CREATE TABLE booking.host_accounts (
            host_account_id text PRIMARY KEY,
            charges_enabled boolean NOT NULL,
            payouts_enabled boolean NOT NULL,
            reported_at     timestamptz NOT NULL
        );

-- downgrade
DROP TABLE booking.host_accounts;

-- migration 0017_receipts.py
-- upgrade
ALTER TABLE booking.bookings ADD COLUMN card_brand text;

ALTER TABLE booking.bookings ADD COLUMN card_last4 text;

ALTER TABLE booking.checkout_groups ADD COLUMN card_brand text;

ALTER TABLE booking.checkout_groups ADD COLUMN card_last4 text;

CREATE TABLE booking.receipts (
            receipt_id      text PRIMARY KEY,
            kind            text NOT NULL CONSTRAINT ck_receipts_kind
                CHECK (kind IN ('payment', 'extra_charge', 'refund')),
            guest_id        text NOT NULL,
            booking_id      uuid,
            group_id        uuid,
            payment_id      text NOT NULL,
            amount          bigint NOT NULL,
            currency        text NOT NULL,
            platform_fee    bigint NOT NULL,
            tax             bigint NOT NULL,
            legs            jsonb NOT NULL,
            method          jsonb NOT NULL,
            lines           jsonb NOT NULL,
            source_event_id uuid NOT NULL UNIQUE,
            issued_at       timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_receipts_guest ON booking.receipts (guest_id, issued_at);

CREATE TABLE booking.ledger_journals (
            source_event_id uuid PRIMARY KEY,
            journal_id      text NOT NULL,
            kind            text NOT NULL,
            postings        jsonb NOT NULL
        );

-- downgrade
DROP TABLE booking.ledger_journals;

DROP TABLE booking.receipts;

ALTER TABLE booking.bookings DROP COLUMN card_last4;

ALTER TABLE booking.bookings DROP COLUMN card_brand;

ALTER TABLE booking.checkout_groups DROP COLUMN card_last4;

ALTER TABLE booking.checkout_groups DROP COLUMN card_brand;

-- migration 0018_bank_debits.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN accepts_bank_debit boolean NOT NULL DEFAULT true;

ALTER TABLE booking.listings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings
            ADD COLUMN payment_method_type text NOT NULL DEFAULT 'card'
                CONSTRAINT ck_bookings_payment_method_type
                CHECK (payment_method_type IN ('card', 'us_bank_account')),
            ADD COLUMN funds_status text CONSTRAINT ck_bookings_funds_status
                CHECK (funds_status IN ('pending', 'received', 'cleared', 'returned')),
            ADD COLUMN bank_name text,
            ADD COLUMN bank_last4 text,
            ADD COLUMN mandate_ip_address text,
            ADD COLUMN mandate_user_agent text;

-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_bookings_payment_status' AND conrelid = 'booking.bookings'::regclass
ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_payment_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_payment_status CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed', 'saved', 'processing'));

-- downgrade
UPDATE booking.bookings SET payment_status = 'none' WHERE payment_status = 'processing';

-- reads: SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_bookings_payment_status' AND conrelid = 'booking.bookings'::regclass
ALTER TABLE booking.bookings DROP CONSTRAINT ck_bookings_payment_status;

ALTER TABLE booking.bookings ADD CONSTRAINT ck_bookings_payment_status CHECK (payment_status IN ('none', 'authorized', 'captured', 'voided', 'failed', 'saved'));

ALTER TABLE booking.bookings
            DROP COLUMN mandate_user_agent,
            DROP COLUMN mandate_ip_address,
            DROP COLUMN bank_last4,
            DROP COLUMN bank_name,
            DROP COLUMN funds_status,
            DROP COLUMN payment_method_type;

ALTER TABLE booking.listings DROP COLUMN IF EXISTS deposit_amount;

ALTER TABLE booking.listings DROP COLUMN accepts_bank_debit;

-- migration 0019_deposits_claims.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL DEFAULT 0;

ALTER TABLE booking.bookings ADD COLUMN deposit_released_at timestamptz;

ALTER TABLE booking.bookings ADD COLUMN deposit_release_reason text;

ALTER TABLE booking.bookings ADD COLUMN deposit_charged bigint NOT NULL DEFAULT 0;

CREATE TABLE booking.claims (
            claim_id          uuid PRIMARY KEY,
            booking_id        uuid NOT NULL REFERENCES booking.bookings (booking_id),
            host_id           text NOT NULL,
            guest_id          text NOT NULL,
            amount            bigint NOT NULL CONSTRAINT ck_claims_amount CHECK (amount > 0),
            currency          text NOT NULL,
            description       text NOT NULL,
            status            text NOT NULL CONSTRAINT ck_claims_status CHECK (status IN (
                'open', 'contested', 'awaiting_admin', 'charging', 'charged', 'charge_failed',
                'withdrawn', 'dismissed')),
            respond_by        timestamptz NOT NULL,
            contest_reason    text,
            decided_amount    bigint CONSTRAINT ck_claims_decided
                CHECK (decided_amount BETWEEN 0 AND amount),
            decided_by        text,
            decision_note     text,
            charge_request_id text UNIQUE,
            charge_attempts   integer NOT NULL DEFAULT 0,
            charge_payment_id text,
            failure_reason    text,
            correlation_id    uuid NOT NULL,
            version           integer NOT NULL DEFAULT 1,
            created_at        timestamptz NOT NULL DEFAULT now(),
            updated_at        timestamptz NOT NULL DEFAULT now()
        );

CREATE INDEX ix_claims_booking ON booking.claims (booking_id, created_at);

CREATE UNIQUE INDEX uq_claims_open_per_booking ON booking.claims (booking_id) WHERE status IN ('open', 'contested', 'awaiting_admin', 'charging');

CREATE TABLE booking.claim_evidence (
            claim_id     uuid NOT NULL REFERENCES booking.claims (claim_id),
            n            integer NOT NULL CONSTRAINT ck_claim_evidence_n CHECK (n >= 1),
            filename     text NOT NULL,
            content_type text NOT NULL,
            size         integer NOT NULL,
            sha256       text NOT NULL,
            data         bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (claim_id, n)
        );

-- downgrade
DROP TABLE booking.claim_evidence;

DROP TABLE booking.claims;

ALTER TABLE booking.bookings DROP COLUMN deposit_charged;

ALTER TABLE booking.bookings DROP COLUMN deposit_release_reason;

ALTER TABLE booking.bookings DROP COLUMN deposit_released_at;

ALTER TABLE booking.bookings DROP COLUMN IF EXISTS deposit_amount;

ALTER TABLE booking.listings DROP COLUMN IF EXISTS deposit_amount;

-- migration 0020_reauthorizations.py
-- upgrade
ALTER TABLE booking.bookings ADD COLUMN authorization_renewed_at timestamptz, ADD COLUMN authorization_renewals integer NOT NULL DEFAULT 0, ADD COLUMN next_action jsonb;

ALTER TABLE booking.checkout_groups ADD COLUMN authorization_renewed_at timestamptz, ADD COLUMN authorization_renewals integer NOT NULL DEFAULT 0, ADD COLUMN next_action jsonb;

-- downgrade
ALTER TABLE booking.bookings DROP COLUMN authorization_renewed_at, DROP COLUMN authorization_renewals, DROP COLUMN next_action;

ALTER TABLE booking.checkout_groups DROP COLUMN authorization_renewed_at, DROP COLUMN authorization_renewals, DROP COLUMN next_action;

-- migration 0021_checkouts_in_flight.py
-- upgrade
CREATE INDEX ix_bookings_pending_payment ON booking.bookings (created_at) WHERE status = 'pending_payment';

-- downgrade
DROP INDEX booking.ix_bookings_pending_payment;

-- migration 0022_listing_max_hours.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN max_hours integer CHECK (max_hours IS NULL OR max_hours >= 1);

-- downgrade
ALTER TABLE booking.listings DROP COLUMN max_hours;

-- migration 0023_disputes_checkout_context.py
-- upgrade
ALTER TABLE booking.bookings ADD COLUMN client_ip text;

ALTER TABLE booking.bookings ADD COLUMN user_agent text;

ALTER TABLE booking.checkout_groups ADD COLUMN client_ip text;

ALTER TABLE booking.checkout_groups ADD COLUMN user_agent text;

CREATE TABLE booking.payment_disputes (
    dispute_id   text PRIMARY KEY,
    payment_id   text NOT NULL,
    subject_id   text NOT NULL,  -- the fact's booking_id: a booking, or a group's id
    booking_ids  jsonb NOT NULL DEFAULT '[]'::jsonb,  -- the legs the payment paid for
    status       text NOT NULL,
    rank         smallint NOT NULL,  -- domain/disputes.py: a status never moves back
    reason       text,
    amount       bigint,
    currency     text,
    opened_at    timestamptz,
    due_by       timestamptz,
    due_rank     smallint NOT NULL DEFAULT 0,  -- the rank of the fact `due_by` came from
    closed_at    timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payment_disputes_by_payment ON booking.payment_disputes (payment_id);

CREATE INDEX payment_disputes_by_subject ON booking.payment_disputes (subject_id);

-- downgrade
DROP TABLE booking.payment_disputes;

ALTER TABLE booking.bookings DROP COLUMN user_agent;

ALTER TABLE booking.bookings DROP COLUMN client_ip;

ALTER TABLE booking.checkout_groups DROP COLUMN user_agent;

ALTER TABLE booking.checkout_groups DROP COLUMN client_ip;

-- migration 0024_list_indexes.py
-- upgrade
DROP INDEX booking.ix_bookings_guest;

CREATE INDEX ix_bookings_guest_listed ON booking.bookings (guest_id, created_at, booking_id);

CREATE INDEX ix_bookings_host_listed ON booking.bookings (host_id, created_at, booking_id);

CREATE INDEX ix_bookings_listed ON booking.bookings (created_at, booking_id);

CREATE INDEX ix_bookings_host_inbox ON booking.bookings (host_id, respond_by, booking_id) WHERE status = 'awaiting_host';

DROP INDEX booking.ix_checkout_groups_guest;

CREATE INDEX ix_checkout_groups_guest_listed ON booking.checkout_groups (guest_id, created_at, group_id);

-- downgrade
DROP INDEX booking.ix_checkout_groups_guest_listed;

CREATE INDEX ix_checkout_groups_guest ON booking.checkout_groups (guest_id);

DROP INDEX booking.ix_bookings_host_inbox;

DROP INDEX booking.ix_bookings_listed;

DROP INDEX booking.ix_bookings_host_listed;

DROP INDEX booking.ix_bookings_guest_listed;

CREATE INDEX ix_bookings_guest ON booking.bookings (guest_id, created_at);

-- migration 0025_outbox_traceparent.py
-- upgrade
ALTER TABLE booking.outbox ADD COLUMN traceparent text;

-- downgrade
ALTER TABLE booking.outbox DROP COLUMN IF EXISTS traceparent;

-- migration 0026_booking_view_indexes.py
-- upgrade
CREATE INDEX ix_amendments_booking ON booking.amendments (booking_id);

CREATE INDEX ix_payment_disputes_bookings ON booking.payment_disputes USING gin (booking_ids);

-- downgrade
DROP INDEX booking.ix_payment_disputes_bookings;

DROP INDEX booking.ix_amendments_booking;

-- migration 0027_refunds.py
-- upgrade
CREATE TABLE booking.refunds (
            booking_id    uuid PRIMARY KEY REFERENCES booking.bookings (booking_id),
            refund_id     text NOT NULL UNIQUE,
            cancelled_by  text NOT NULL CONSTRAINT ck_refunds_cancelled_by
                CHECK (cancelled_by IN ('guest', 'host', 'admin')),
            policy        text NOT NULL,
            basis         text NOT NULL CONSTRAINT ck_refunds_basis CHECK (basis IN ('grace', 'band', 'no_band', 'started', 'host_cancelled', 'force_majeure')),
            refund_bps    integer NOT NULL CONSTRAINT ck_refunds_bps
                CHECK (refund_bps BETWEEN 0 AND 10000),
            amount        bigint NOT NULL CONSTRAINT ck_refunds_amount CHECK (amount >= 0),
            currency      text NOT NULL,
            host_amount   bigint NOT NULL,
            platform_fee  bigint NOT NULL,
            tax           bigint NOT NULL,
            host_penalty  bigint NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );

CREATE TABLE booking.refund_lines (
            booking_id  uuid NOT NULL REFERENCES booking.refunds (booking_id) ON DELETE CASCADE,
            position    integer NOT NULL,
            code        text NOT NULL,
            amount      bigint NOT NULL,
            PRIMARY KEY (booking_id, position)
        );

CREATE TABLE booking.refund_requests (
            booking_id     uuid NOT NULL REFERENCES booking.refunds (booking_id) ON DELETE CASCADE,
            position       integer NOT NULL,
            refund_id      text NOT NULL UNIQUE,
            succeeded_seq  integer,
            succeeded_at   timestamptz,
            PRIMARY KEY (booking_id, position),
            CONSTRAINT uq_refund_requests_succeeded UNIQUE (booking_id, succeeded_seq),
            CONSTRAINT ck_refund_requests_succeeded
                CHECK ((succeeded_seq IS NULL) = (succeeded_at IS NULL))
        );

INSERT INTO booking.refunds (booking_id, refund_id, cancelled_by, policy, basis, refund_bps,
            amount, currency, host_amount, platform_fee, tax, host_penalty, created_at,
            updated_at)
        SELECT booking_id, refund->>'refund_id', refund->>'cancelled_by', refund->>'policy',
            refund->>'basis', (refund->>'refund_bps')::integer, (refund->>'amount')::bigint,
            COALESCE(refund->>'currency', currency), (refund->>'host_amount')::bigint,
            (refund->>'platform_fee')::bigint, (refund->>'tax')::bigint,
            COALESCE((refund->>'host_penalty')::bigint, 0),
            COALESCE(cancelled_at, updated_at), updated_at
        FROM booking.bookings WHERE refund IS NOT NULL;

INSERT INTO booking.refund_lines (booking_id, position, code, amount)
        SELECT b.booking_id, l.n - 1, l.line->>'code', (l.line->>'amount')::bigint
        FROM booking.bookings b
        CROSS JOIN LATERAL jsonb_array_elements(b.refund->'lines') WITH ORDINALITY AS l(line, n)
        WHERE b.refund IS NOT NULL;

WITH blobs AS (
            SELECT b.booking_id, b.updated_at,
                CASE WHEN b.refund ? 'refund_ids' THEN b.refund->'refund_ids'
                     WHEN b.refund_status <> 'none' THEN jsonb_build_array(b.refund->'refund_id')
                     ELSE '[]'::jsonb END AS requested,
                CASE WHEN b.refund ? 'succeeded' THEN b.refund->'succeeded'
                     WHEN b.refund_status = 'refunded' THEN jsonb_build_array(b.refund->'refund_id')
                     ELSE '[]'::jsonb END AS succeeded
            FROM booking.bookings b WHERE b.refund IS NOT NULL
        )
        INSERT INTO booking.refund_requests (booking_id, position, refund_id, succeeded_seq,
            succeeded_at)
        SELECT blobs.booking_id, q.n - 1, q.refund_id, s.n,
            CASE WHEN s.n IS NOT NULL THEN blobs.updated_at END
        FROM blobs
        CROSS JOIN LATERAL jsonb_array_elements_text(blobs.requested)
            WITH ORDINALITY AS q(refund_id, n)
        LEFT JOIN LATERAL jsonb_array_elements_text(blobs.succeeded)
            WITH ORDINALITY AS s(refund_id, n) ON s.refund_id = q.refund_id;

ALTER TABLE booking.bookings DROP COLUMN refund;

-- downgrade
ALTER TABLE booking.bookings ADD COLUMN refund jsonb;

UPDATE booking.bookings SET refund = (
    SELECT jsonb_build_object(
        'booking_id', r.booking_id::text, 'cancelled_by', r.cancelled_by,
        'policy', r.policy, 'currency', r.currency, 'basis', r.basis,
        'refund_bps', r.refund_bps, 'amount', r.amount,
        'lines', COALESCE((SELECT jsonb_agg(jsonb_build_object('code', l.code,
            'amount', l.amount) ORDER BY l.position) FROM booking.refund_lines l
            WHERE l.booking_id = r.booking_id), '[]'::jsonb),
        'host_amount', r.host_amount, 'platform_fee', r.platform_fee, 'tax', r.tax,
        'host_penalty', r.host_penalty, 'refund_id', r.refund_id,
        'refund_ids', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.position)
            FROM booking.refund_requests q WHERE q.booking_id = r.booking_id), '[]'::jsonb),
        'succeeded', COALESCE((SELECT jsonb_agg(q.refund_id ORDER BY q.succeeded_seq)
            FROM booking.refund_requests q WHERE q.booking_id = r.booking_id
            AND q.succeeded_seq IS NOT NULL), '[]'::jsonb))
    FROM booking.refunds r WHERE r.booking_id = bookings.booking_id) WHERE booking_id IN (SELECT booking_id FROM booking.refunds);

DROP TABLE booking.refund_requests;

DROP TABLE booking.refund_lines;

DROP TABLE booking.refunds;

-- migration 0028_listing_catalog_at.py
-- upgrade
ALTER TABLE booking.listings ADD COLUMN catalog_at timestamptz;

-- downgrade
ALTER TABLE booking.listings DROP COLUMN catalog_at;

-- migration 0029_statistics_targets.py
-- upgrade
DO $$
        DECLARE c record;
        BEGIN
            FOR c IN
                SELECT a.attrelid::regclass AS rel, a.attname, CASE WHEN t.typname IN ('json', 'jsonb', 'bytea') THEN 0 ELSE 25 END AS target
                FROM pg_attribute a
                JOIN pg_class r ON r.oid = a.attrelid
                JOIN pg_type t ON t.oid = a.atttypid
                WHERE r.relnamespace = 'booking'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'booking'::regnamespace AND i.indkey[a.attnum - 1] = 0
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
                WHERE r.relnamespace = 'booking'::regnamespace AND r.relkind IN ('r', 'p')
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
                WHERE r.relnamespace = 'booking'::regnamespace AND i.indkey[a.attnum - 1] = 0
            LOOP
                EXECUTE format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS -1',
                               c.rel, c.attnum);
            END LOOP;
        END $$;

