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
