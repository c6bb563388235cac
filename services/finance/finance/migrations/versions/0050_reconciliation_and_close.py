"""Stripe import, three-way reconciliation and the daily close.

- `stripe_balance_transactions`: Stripe's balance transactions as last imported (a status
  change pending → available updates the row; the journals it causes are unique per kind).
- `recon_cursors`: the import's cursor per Stripe account (created watermark + ids seen at it).
- `stripe_objects`: what payments asked Stripe for, from the facts finance consumes (one row
  per fact and kind), signed like balance transactions.
- `recon_exceptions`: disagreements between Stripe, ledger and payments; one open per
  (object, kind).
- `day_closes`, `close_acknowledgements`: one close per (business day, currency) and the
  differences finance acknowledged for it.
- `books_calendar`: the cutoff and the clock offset the ledger's business date follows.
- `journals.posted_on` (business date, set by trigger), `journals.adjusts_day` (a late journal
  posted into the next open day names the closed day it belongs to)."""

from alembic import op

revision, down_revision = "0050", "0006"

S = "finance"


def upgrade() -> None:
    _journal_dates()
    _stripe_balance()
    _exceptions_and_closes()


def _stripe_balance() -> None:
    """Stripe's balance transactions and objects as imported, and the import's cursors."""
    op.execute(f"""
        CREATE TABLE {S}.stripe_balance_transactions (
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
        )""")
    op.execute(f"CREATE INDEX ix_sbt_source ON {S}.stripe_balance_transactions (source)")
    op.execute(
        f"CREATE INDEX ix_sbt_pending ON {S}.stripe_balance_transactions (created) "
        "WHERE status = 'pending'"
    )
    op.execute(f"""
        CREATE TABLE {S}.recon_cursors (
            name             text PRIMARY KEY,
            watermark        timestamptz,
            ids_at_watermark text[] NOT NULL DEFAULT '{{}}',
            requested_at     timestamptz,
            last_started_at  timestamptz,
            last_finished_at timestamptz,
            imported         bigint NOT NULL DEFAULT 0
        )""")
    op.execute(f"""
        CREATE TABLE {S}.stripe_objects (
            source_event_id uuid NOT NULL,
            kind            text NOT NULL,
            object_id       text NOT NULL,
            payment_id      text,
            booking_id      text,
            amount          bigint NOT NULL,
            currency        text NOT NULL,
            recorded_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_event_id, kind)
        )""")
    op.execute(f"CREATE INDEX ix_stripe_objects_object ON {S}.stripe_objects (object_id)")
    op.execute(f"CREATE INDEX ix_stripe_objects_payment ON {S}.stripe_objects (payment_id)")


def _exceptions_and_closes() -> None:
    """Reconciliation exceptions, and the day closes with their acknowledgements."""
    op.execute(f"""
        CREATE TABLE {S}.recon_exceptions (
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
        )""")
    op.execute(
        f"CREATE UNIQUE INDEX uq_recon_exceptions_open ON {S}.recon_exceptions (object_id, kind) "
        "WHERE status = 'open'"
    )
    op.execute(f"""
        CREATE TABLE {S}.day_closes (
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
        )""")
    op.execute(f"""
        CREATE TABLE {S}.close_acknowledgements (
            business_date date NOT NULL,
            currency      text NOT NULL,
            item          text NOT NULL,
            amount        bigint NOT NULL,
            note          text NOT NULL CONSTRAINT ck_close_ack_note CHECK (note <> ''),
            actor         text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (business_date, currency, item, amount)
        )""")


def _journal_dates() -> None:
    op.execute(f"ALTER TABLE {S}.journals ADD COLUMN posted_on date, ADD COLUMN adjusts_day date")
    # Journals are append-only; giving the existing ones their business date is the one
    # exception, made here with the guard off.
    op.execute(f"ALTER TABLE {S}.journals DISABLE TRIGGER journals_append_only")
    op.execute(f"UPDATE {S}.journals SET posted_on = (posted_at AT TIME ZONE 'UTC')::date")
    op.execute(f"ALTER TABLE {S}.journals ENABLE TRIGGER journals_append_only")
    op.execute(f"ALTER TABLE {S}.journals ALTER COLUMN posted_on SET NOT NULL")
    op.execute(f"CREATE INDEX ix_journals_posted_on ON {S}.journals (currency, posted_on)")
    op.execute(f"""
        CREATE TABLE {S}.books_calendar (
            singleton    boolean PRIMARY KEY DEFAULT true CONSTRAINT ck_books_calendar_one
                CHECK (singleton),
            cutoff       interval NOT NULL DEFAULT '0',
            clock_offset interval NOT NULL DEFAULT '0'
        )""")
    op.execute(f"INSERT INTO {S}.books_calendar DEFAULT VALUES")
    # The business date of a journal, in the database so no writer can skip it: its natural
    # day (posted_at on the finance clock, less the cutoff) unless that day is closed for its
    # currency; then the next open day, naming the closed day it adjusts. The shared advisory
    # lock waits for a close of the currency in progress (which holds it exclusively), so a
    # journal never lands in a day as that day's snapshot is taken.
    op.execute(f"""
        CREATE FUNCTION {S}.assign_posted_on() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE natural_day date; last_closed date;
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(hashtext('finance.books:' || NEW.currency));
            SELECT ((NEW.posted_at + c.clock_offset - c.cutoff) AT TIME ZONE 'UTC')::date
              INTO natural_day FROM {S}.books_calendar c;
            natural_day := coalesce(NEW.posted_on, natural_day,
                                    (NEW.posted_at AT TIME ZONE 'UTC')::date);
            SELECT max(business_date) INTO last_closed FROM {S}.day_closes
             WHERE currency = NEW.currency AND status = 'closed';
            IF last_closed IS NOT NULL AND natural_day <= last_closed THEN
                NEW.adjusts_day := natural_day;
                NEW.posted_on := last_closed + 1;
            ELSE
                NEW.posted_on := natural_day;
            END IF;
            RETURN NEW;
        END $$""")
    op.execute(f"""
        CREATE TRIGGER journals_posted_on BEFORE INSERT ON {S}.journals
        FOR EACH ROW EXECUTE FUNCTION {S}.assign_posted_on()""")


def downgrade() -> None:
    for table in (
        "close_acknowledgements",
        "day_closes",
        "recon_exceptions",
        "stripe_objects",
        "recon_cursors",
        "stripe_balance_transactions",
    ):
        op.execute(f"DROP TABLE {S}.{table}")
    op.execute(f"DROP TRIGGER journals_posted_on ON {S}.journals")
    op.execute(f"DROP FUNCTION {S}.assign_posted_on()")
    op.execute(f"DROP TABLE {S}.books_calendar")
    op.execute(f"DROP INDEX {S}.ix_journals_posted_on")
    op.execute(f"ALTER TABLE {S}.journals DROP COLUMN posted_on, DROP COLUMN adjusts_day")
