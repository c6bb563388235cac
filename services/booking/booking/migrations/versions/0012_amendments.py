"""Amendments and overtime: proposals to change a confirmed booking, and their outcome.

At most one amendment of a booking is open (proposed or charging) at a time: a concurrent
proposal is refused with 409, not merged."""

from alembic import op

revision, down_revision = "0012", "0011"

S = "booking"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.listings ADD COLUMN overtime_hourly_rate bigint")
    op.execute(f"""
        CREATE TABLE {S}.amendments (
            amendment_id  uuid PRIMARY KEY,
            booking_id    uuid NOT NULL REFERENCES {S}.bookings (booking_id),
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
        )""")
    op.execute(
        f"CREATE UNIQUE INDEX uq_amendments_one_open ON {S}.amendments (booking_id) "
        "WHERE status IN ('proposed', 'charging')"
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.amendments")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN overtime_hourly_rate")
