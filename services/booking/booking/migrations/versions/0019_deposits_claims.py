"""Security deposits and damage claims with evidence.

A listing's `deposit_amount` is replicated from the catalogue and snapshotted on each booking at
checkout. After the end, the host may file damage claims against it (`claims`, with evidence
files in `claim_evidence`); the deposit is released once, recorded on the booking."""

from alembic import op

revision, down_revision = "0019", "0018"

S = "booking"
OPEN = "('open', 'contested', 'awaiting_admin', 'charging')"


def upgrade() -> None:
    # IF NOT EXISTS: the bank-debit work may add the listing column too.
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL "
        "DEFAULT 0"
    )
    op.execute(
        f"ALTER TABLE {S}.bookings ADD COLUMN IF NOT EXISTS deposit_amount bigint NOT NULL "
        "DEFAULT 0"
    )
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN deposit_released_at timestamptz")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN deposit_release_reason text")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN deposit_charged bigint NOT NULL DEFAULT 0")
    op.execute(f"""
        CREATE TABLE {S}.claims (
            claim_id          uuid PRIMARY KEY,
            booking_id        uuid NOT NULL REFERENCES {S}.bookings (booking_id),
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
        )""")
    op.execute(f"CREATE INDEX ix_claims_booking ON {S}.claims (booking_id, created_at)")
    # One claim of a booking is open at a time: a concurrent filing is refused (claim_open).
    op.execute(
        f"CREATE UNIQUE INDEX uq_claims_open_per_booking ON {S}.claims (booking_id) "
        f"WHERE status IN {OPEN}"
    )
    op.execute(f"""
        CREATE TABLE {S}.claim_evidence (
            claim_id     uuid NOT NULL REFERENCES {S}.claims (claim_id),
            n            integer NOT NULL CONSTRAINT ck_claim_evidence_n CHECK (n >= 1),
            filename     text NOT NULL,
            content_type text NOT NULL,
            size         integer NOT NULL,
            sha256       text NOT NULL,
            data         bytea NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (claim_id, n)
        )""")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.claim_evidence")
    op.execute(f"DROP TABLE {S}.claims")
    for column in ("deposit_charged", "deposit_release_reason", "deposit_released_at"):
        op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN IF EXISTS deposit_amount")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN IF EXISTS deposit_amount")
