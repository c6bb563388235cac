"""Smart Invites: a host's priced offer to a guest, open until it expires."""

from alembic import op

revision, down_revision = "0004", "0003"

S = "booking"


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE {S}.invites (
            invite_id      uuid PRIMARY KEY,
            host_id        text NOT NULL,
            guest_id       text NOT NULL,
            listing_id     text NOT NULL REFERENCES {S}.listings (listing_id),
            starts_at      timestamptz NOT NULL,
            ends_at        timestamptz NOT NULL,
            amount         bigint NOT NULL CONSTRAINT ck_invites_amount CHECK (amount > 0),
            currency       text NOT NULL,
            expires_at     timestamptz NOT NULL,
            note           text NOT NULL DEFAULT '',
            status         text NOT NULL DEFAULT 'open' CONSTRAINT ck_invites_status
                CHECK (status IN ('open', 'accepted', 'declined', 'withdrawn', 'expired')),
            booking_id     uuid REFERENCES {S}.bookings (booking_id),
            correlation_id uuid NOT NULL,
            version        integer NOT NULL DEFAULT 1,
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_invites_range CHECK (ends_at > starts_at)
        )""")
    op.execute(f"CREATE INDEX ix_invites_guest ON {S}.invites (guest_id, created_at)")
    op.execute(f"CREATE INDEX ix_invites_host ON {S}.invites (host_id, created_at)")


def downgrade() -> None:
    op.execute(f"DROP TABLE {S}.invites")
