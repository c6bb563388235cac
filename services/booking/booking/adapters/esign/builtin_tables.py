"""The built-in provider's tables: their DDL (frozen into migration 0007) and their names.

``<prefix>envelopes`` (one per signing request, its signer and outcome), ``<prefix>documents``
(the exact bytes shown) and ``<prefix>signatures`` (per document: who signed, when, from where,
and the SHA-256 of what was signed).
"""

from __future__ import annotations

from dataclasses import dataclass

from booking.adapters.esign._sql import identifier
from booking.adapters.esign._sql import table_prefix as check_prefix


@dataclass(frozen=True)
class BuiltinTables:
    """Qualified names of the three tables."""

    envelopes: str
    documents: str
    signatures: str

    @classmethod
    def of(cls, schema: str = "booking", prefix: str = "esign_") -> BuiltinTables:
        s, p = identifier(schema, "schema"), check_prefix(prefix)
        return cls(f"{s}.{p}envelopes", f"{s}.{p}documents", f"{s}.{p}signatures")


def builtin_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    """CREATE statements of the built-in provider's tables, in order (for an Alembic migration:
    ``for sql in builtin_tables("booking"): op.execute(sql)``). Tables: ``<prefix>envelopes``,
    ``<prefix>documents``, ``<prefix>signatures``."""
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    envelopes, documents, signatures = (
        f"{s}.{p}envelopes",
        f"{s}.{p}documents",
        f"{s}.{p}signatures",
    )
    return [
        f"""CREATE TABLE {envelopes} (
    envelope_id        text PRIMARY KEY,
    envelope_key       text NOT NULL UNIQUE,
    request_hash       text NOT NULL,
    signer_id          text NOT NULL,
    signer_name        text NOT NULL,
    signer_email       text NOT NULL,
    metadata           jsonb NOT NULL DEFAULT '{{}}'::jsonb,
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
        f"CREATE INDEX {p}envelopes_open_by_expiry ON {envelopes} (expires_at) "
        "WHERE status = 'sent'",
        f"CREATE INDEX {p}envelopes_unnotified ON {envelopes} (decided_at) "
        "WHERE status <> 'sent' AND notified_at IS NULL",
        f"""CREATE TABLE {documents} (
    envelope_id  text NOT NULL REFERENCES {envelopes} (envelope_id) ON DELETE CASCADE,
    document_id  text NOT NULL,
    position     integer NOT NULL,
    title        text NOT NULL,
    content_type text NOT NULL,
    content      bytea NOT NULL,
    sha256       text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    UNIQUE (envelope_id, position)
)""",
        f"""CREATE TABLE {signatures} (
    envelope_id text NOT NULL,
    document_id text NOT NULL,
    signer_id   text NOT NULL,
    signed_at   timestamptz NOT NULL,
    signer_ip   text,
    user_agent  text,
    sha256      text NOT NULL,
    PRIMARY KEY (envelope_id, document_id),
    FOREIGN KEY (envelope_id, document_id)
        REFERENCES {documents} (envelope_id, document_id) ON DELETE CASCADE
)""",
    ]


def drop_builtin_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    """The downgrade of `builtin_tables`."""
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    return [f"DROP TABLE IF EXISTS {s}.{p}{t}" for t in ("signatures", "documents", "envelopes")]
