"""Double-entry ledger: journals and their postings, balanced per journal at commit."""

from alembic import op

from eventkit.ddl import drop_eventing_tables, eventing_tables

revision, down_revision = "0001", None

S = "finance"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.journals (
            journal_id      uuid PRIMARY KEY,
            kind            text NOT NULL,
            booking_id      text,
            source_event_id uuid NOT NULL,
            currency        text NOT NULL CONSTRAINT ck_journals_currency
                CHECK (currency ~ '^[a-z]{{3}}$'),
            posted_at       timestamptz NOT NULL DEFAULT now(),
            -- One journal per (source fact, kind): a replayed fact cannot post twice.
            CONSTRAINT uq_journals_source_kind UNIQUE (source_event_id, kind)
        )""")
    op.execute(f"""
        CREATE TABLE {S}.postings (
            posting_id  bigserial PRIMARY KEY,
            journal_id  uuid NOT NULL REFERENCES {S}.journals (journal_id),
            account     text NOT NULL,
            amount      bigint NOT NULL CONSTRAINT ck_postings_nonzero CHECK (amount <> 0),
            currency    text NOT NULL
        )""")
    op.execute(f"CREATE INDEX ix_postings_journal ON {S}.postings (journal_id)")
    op.execute(f"CREATE INDEX ix_postings_account ON {S}.postings (account, currency)")
    # Append-only: corrections are reversing journals, never edits.
    op.execute(f"""
        CREATE FUNCTION {S}.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are append-only (% on %)', TG_OP, TG_TABLE_NAME;
        END $$""")
    for table in ("journals", "postings"):
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {S}.{table}
            FOR EACH ROW EXECUTE FUNCTION {S}.forbid_change()""")
    # Balanced at commit, whatever the application does: deferred to the end of the transaction
    # so a journal's postings can be inserted one by one.
    op.execute(f"""
        CREATE FUNCTION {S}.check_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE total bigint; currencies integer;
        BEGIN
            SELECT coalesce(sum(amount), 0), count(DISTINCT currency) INTO total, currencies
              FROM {S}.postings WHERE journal_id = NEW.journal_id;
            IF total <> 0 OR currencies <> 1 THEN
                RAISE EXCEPTION 'journal % is unbalanced (sum %, % currencies)',
                    NEW.journal_id, total, currencies;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute(f"""
        CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON {S}.postings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        EXECUTE FUNCTION {S}.check_journal_balanced()""")
    for statement in eventing_tables(S):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_eventing_tables(S):
        op.execute(statement)
    op.execute(f"DROP TABLE {S}.postings")
    op.execute(f"DROP TABLE {S}.journals")
    op.execute(f"DROP FUNCTION {S}.check_journal_balanced()")
    op.execute(f"DROP FUNCTION {S}.forbid_change()")
