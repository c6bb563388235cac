"""Dropbox Sign adapter's request map (it has no idempotency keys of its own)."""

from alembic import op

revision, down_revision = "0008", "0007"

# The adapter's tables as they were on 2026-11-26, frozen here: history must not change when
# booking.adapters.esign.dropbox_sign does (a test compares the two).
TABLES = [
    """CREATE TABLE booking.esign_dropbox_sign_requests (
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
)""",
]
DROP_TABLES = [
    "DROP TABLE IF EXISTS booking.esign_dropbox_sign_requests",
]


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TABLES:
        op.execute(statement)
