"""Docs-before-pay: required documents on listings, envelopes on bookings, the built-in e-sign
provider's tables, and the awaiting_signatures status (which holds the slot)."""

from alembic import op

from eventkit.ddl import replace_constraint_v1

revision, down_revision = "0007", "0006"

S = "booking"
TABLE = f"{S}.bookings"
# The slot a booking in one of these statuses holds: no other may overlap it.
OVERLAP = (
    "EXCLUDE USING gist (listing_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
    "WHERE (status IN ({holding}))"
)
STATUSES = (
    "'pending_payment', 'awaiting_host', 'confirmed', 'failed', 'expired', 'declined', "
    "'completed', 'payment_due', 'released'"
)
HOLDING = "'pending_payment', 'awaiting_host', 'confirmed', 'completed', 'payment_due'"

# The built-in e-sign provider's tables as they were on 2026-11-26, frozen here: history must
# not change when booking.adapters.esign.builtin_tables does (a test compares the two).
ESIGN_TABLES = [
    """CREATE TABLE booking.esign_envelopes (
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
)""",
    "CREATE INDEX esign_envelopes_open_by_expiry ON booking.esign_envelopes (expires_at) WHERE status = 'sent'",
    "CREATE INDEX esign_envelopes_unnotified ON booking.esign_envelopes (decided_at) WHERE status <> 'sent' AND notified_at IS NULL",
    """CREATE TABLE booking.esign_documents (
    envelope_id  text NOT NULL REFERENCES booking.esign_envelopes (envelope_id) ON DELETE CASCADE,
    document_id  text NOT NULL,
    position     integer NOT NULL,
    title        text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    sha256       text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    UNIQUE (envelope_id, position)
)""",
    """CREATE TABLE booking.esign_signatures (
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
)""",
]
DROP_ESIGN_TABLES = [
    "DROP TABLE IF EXISTS booking.esign_signatures",
    "DROP TABLE IF EXISTS booking.esign_documents",
    "DROP TABLE IF EXISTS booking.esign_envelopes",
]


def _constraints(statuses: str, holding: str) -> list[str]:
    return [
        *replace_constraint_v1(TABLE, "ck_bookings_status", f"CHECK (status IN ({statuses}))"),
        *replace_constraint_v1(TABLE, "ex_bookings_no_overlap", OVERLAP.format(holding=holding)),
    ]


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE {S}.listings ADD COLUMN required_documents jsonb NOT NULL DEFAULT '[]'"
    )
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN save_for_later boolean NOT NULL DEFAULT false")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN envelope_id text")
    op.execute(f"ALTER TABLE {S}.bookings ADD COLUMN signing_url text")
    op.execute(f"CREATE INDEX ix_bookings_envelope ON {S}.bookings (envelope_id)")
    for statement in _constraints(
        STATUSES + ", 'awaiting_signatures'", HOLDING + ", 'awaiting_signatures'"
    ):
        op.execute(statement)
    for statement in ESIGN_TABLES:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_ESIGN_TABLES:
        op.execute(statement)
    op.execute(f"UPDATE {S}.bookings SET status = 'failed' WHERE status = 'awaiting_signatures'")
    for statement in _constraints(STATUSES, HOLDING):
        op.execute(statement)
    op.execute(f"DROP INDEX {S}.ix_bookings_envelope")
    for column in ("signing_url", "envelope_id", "save_for_later"):
        op.execute(f"ALTER TABLE {S}.bookings DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {S}.listings DROP COLUMN required_documents")
