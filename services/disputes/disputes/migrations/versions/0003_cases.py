"""Dispute cases, their append-only history, evidence, money, submissions, the booking facts
evidence is assembled from, and durable timers (reminders, auto-submit)."""

from alembic import op

from eventkit.scheduler import scheduler_table

revision, down_revision = "0003", "0002"

S = "disputes"
STATUSES = (
    "'warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', "
    "'submitting', 'under_review', 'accepting', 'won', 'lost', 'accepted'"
)

TABLES = [
    f"""CREATE TABLE {S}.cases (
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
        status               text NOT NULL CONSTRAINT ck_cases_status CHECK (status IN ({STATUSES})),
        inquiry              boolean NOT NULL,
        due_by               timestamptz,
        three_d_secure       boolean NOT NULL DEFAULT false,
        card_brand           text,
        opened_at            timestamptz NOT NULL,
        host_at_fault        boolean NOT NULL DEFAULT false,
        host_fault_note      text NOT NULL DEFAULT '',
        text_edits           jsonb NOT NULL DEFAULT '{{}}',
        outcome              text,
        policy_version       text,
        rule                 text,
        shares               jsonb,
        resolved_at          timestamptz,
        updated_at           timestamptz NOT NULL DEFAULT now()
    )""",
    f"CREATE INDEX ix_cases_due ON {S}.cases (due_by, dispute_id)",
    f"CREATE INDEX ix_cases_payment ON {S}.cases (payment_id)",
    f"""CREATE TABLE {S}.case_legs (
        dispute_id      text NOT NULL REFERENCES {S}.cases,
        booking_id      text NOT NULL,
        host_account_id text NOT NULL,
        amount          bigint NOT NULL,
        platform_fee    bigint NOT NULL,
        host_amount     bigint NOT NULL,
        PRIMARY KEY (dispute_id, booking_id)
    )""",
    f"CREATE INDEX ix_case_legs_host ON {S}.case_legs (host_account_id)",
    f"CREATE INDEX ix_case_legs_booking ON {S}.case_legs (booking_id)",
    f"""CREATE TABLE {S}.case_history (
        id          bigserial PRIMARY KEY,
        dispute_id  text NOT NULL REFERENCES {S}.cases,
        at          timestamptz NOT NULL,
        actor       text NOT NULL,
        trigger     text NOT NULL,
        from_status text,
        to_status   text NOT NULL,
        detail      jsonb NOT NULL DEFAULT '{{}}'
    )""",
    f"CREATE INDEX ix_case_history_case ON {S}.case_history (dispute_id, id)",
    # Append-only: the history is the audit trail, so nothing rewrites or removes it.
    f"""CREATE FUNCTION {S}.case_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'case_history is append-only'; END $$""",
    f"""CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON {S}.case_history
        FOR EACH ROW EXECUTE FUNCTION {S}.case_history_append_only()""",
    f"""CREATE TABLE {S}.dispute_money (
        balance_transaction_id text PRIMARY KEY,
        dispute_id  text NOT NULL REFERENCES {S}.cases,
        kind        text NOT NULL CONSTRAINT ck_money_kind CHECK (kind IN ('withdrawn', 'reinstated')),
        amount      bigint NOT NULL,
        fee         bigint NOT NULL,
        currency    text NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )""",
    f"""CREATE TABLE {S}.evidence_files (
        file_id      text PRIMARY KEY,
        dispute_id   text NOT NULL REFERENCES {S}.cases,
        field        text NOT NULL,
        filename     text NOT NULL,
        content_type text NOT NULL,
        sha256       text NOT NULL,
        size         integer NOT NULL,
        content      bytea NOT NULL,
        uploaded_by  text NOT NULL,
        uploaded_at  timestamptz NOT NULL
    )""",
    f"CREATE INDEX ix_evidence_files_case ON {S}.evidence_files (dispute_id)",
    f"""CREATE TABLE {S}.submissions (
        request_id   text PRIMARY KEY,
        dispute_id   text NOT NULL REFERENCES {S}.cases,
        action       text NOT NULL CONSTRAINT ck_submissions_action CHECK (action IN ('submit', 'accept')),
        auto         boolean NOT NULL DEFAULT false,
        actor        text NOT NULL,
        requested_at timestamptz NOT NULL,
        fields       text[] NOT NULL DEFAULT '{{}}',
        outcome      text,
        answered_at  timestamptz
    )""",
    f"""CREATE TABLE {S}.bookings (
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
    )""",
    f"CREATE INDEX ix_bookings_guest ON {S}.bookings (guest_id, starts_at)",
    f"CREATE INDEX ix_bookings_group ON {S}.bookings (group_id)",
    f"""CREATE TABLE {S}.booking_facts (
        kind       text NOT NULL,
        fact_key   text NOT NULL,
        booking_id text NOT NULL,
        at         timestamptz NOT NULL,
        data       jsonb NOT NULL,
        PRIMARY KEY (kind, fact_key)
    )""",
    f"CREATE INDEX ix_booking_facts_booking ON {S}.booking_facts (booking_id)",
    f"""CREATE TABLE {S}.fraud_warnings (
        warning_id  text PRIMARY KEY,
        payment_id  text NOT NULL,
        booking_id  text NOT NULL,
        fraud_type  text NOT NULL,
        actionable  boolean NOT NULL,
        received_at timestamptz NOT NULL
    )""",
    f"ALTER TABLE {S}.charges ADD COLUMN purpose text",
]


def upgrade() -> None:
    for statement in [*TABLES, *scheduler_table(S)]:
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"ALTER TABLE {S}.charges DROP COLUMN purpose")
    for table in (
        "scheduled_jobs",
        "fraud_warnings",
        "booking_facts",
        "bookings",
        "submissions",
        "evidence_files",
        "dispute_money",
        "case_history",
        "case_legs",
        "cases",
    ):
        op.execute(f"DROP TABLE {S}.{table}")
    op.execute(f"DROP FUNCTION {S}.case_history_append_only()")
