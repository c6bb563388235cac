"""Linked Booking Groups: one checkout of several legs (bookings), one payment.

A leg is an ordinary booking with a `group_id`; a leg that is paid for (and accepted, if it is
a Request-to-Book) waits in `awaiting_group`, which holds its slot, until the whole group is
confirmed at once."""

from alembic import op

from eventkit.ddl import replace_constraint_v1

revision, down_revision = "0009", "0008"

S = "booking"
TABLE = f"{S}.bookings"
# The slot a booking in one of these statuses holds: no other may overlap it.
OVERLAP = (
    "EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
    "WHERE (status IN ({holding}))"
)
STATUSES = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', "
    "'completed', 'payment_due', 'released', 'awaiting_signatures'"
)
HOLDING = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due', "
    "'awaiting_signatures'"
)


def _constraints(statuses: str, holding: str) -> list[str]:
    return [
        *replace_constraint_v1(TABLE, "ck_bookings_status", f"CHECK (status IN ({statuses}))"),
        *replace_constraint_v1(TABLE, "ex_bookings_no_overlap", OVERLAP.format(holding=holding)),
    ]


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.checkout_groups (
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
        )""")
    op.execute(f"CREATE INDEX ix_checkout_groups_guest ON {S}.checkout_groups (guest_id)")
    op.execute(
        f"ALTER TABLE {S}.bookings ADD COLUMN group_id uuid "
        f"REFERENCES {S}.checkout_groups (group_id)"
    )
    op.execute(f"CREATE INDEX ix_bookings_group ON {S}.bookings (group_id)")
    for statement in _constraints(STATUSES + ", 'awaiting_group'", HOLDING + ", 'awaiting_group'"):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.bookings SET status = 'failed' WHERE status = 'awaiting_group'")
    for statement in _constraints(STATUSES, HOLDING):
        op.execute(statement)
    op.execute(f"DROP INDEX {S}.ix_bookings_group")
    op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN group_id")
    op.execute(f"DROP TABLE {S}.checkout_groups")
