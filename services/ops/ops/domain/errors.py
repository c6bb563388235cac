"""Ops' refusals, each with a machine-readable code (GraphQL `extensions.code`)."""

from __future__ import annotations


class OpsError(Exception):
    """A refusal the caller can act on; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def forbidden(role: str, needs: str) -> OpsError:
    return OpsError("forbidden", f"Your role ({role}) may not do this; it needs {needs}.")


def invalid(message: str) -> OpsError:
    return OpsError("invalid_request", message)


def not_found(message: str) -> OpsError:
    return OpsError("not_found", message)


def check_page(first: int, offset: int) -> None:
    """A page of a list: 1 to 200 items from `offset` (0 or more); invalid_request otherwise."""
    if not 1 <= first <= 200 or offset < 0:
        raise invalid("first must be 1 to 200 and offset at least 0.")
