"""The built-in provider's tables, by name. Migration 0007 creates them (its DDL is frozen in it).

``<prefix>envelopes`` (one per signing request, its signer and outcome), ``<prefix>documents``
(the exact bytes shown) and ``<prefix>signatures`` (per document: who signed, when, from where,
and the SHA-256 of what was signed).
"""

from __future__ import annotations

from dataclasses import dataclass

from booking.adapters.esign._sql import table_name


@dataclass(frozen=True)
class BuiltinTables:
    """Qualified names of the three tables."""

    envelopes: str
    documents: str
    signatures: str

    @classmethod
    def of(cls, schema: str = "booking", prefix: str = "esign_") -> BuiltinTables:
        return cls(
            *(table_name(schema, prefix, t) for t in ("envelopes", "documents", "signatures"))
        )
