"""SQL identifier checks: schema names and table prefixes are interpolated into DDL and queries."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(name: str, what: str = "identifier") -> str:
    if not _IDENTIFIER.match(name) or len(name) > 40:
        raise ValueError(f"{what} must match [a-z_][a-z0-9_]* (at most 40 characters): {name!r}")
    return name


def table_prefix(prefix: str) -> str:
    """ "" or an identifier-safe prefix such as ``esign_``."""
    return identifier(prefix, "table prefix") if prefix else ""


def table_name(schema: str, prefix: str, table: str) -> str:
    """``<schema>.<prefix><table>``, both parts checked: the providers' tables are named so."""
    return f"{identifier(schema, 'schema')}.{table_prefix(prefix)}{table}"
