"""Every GraphQL error carries `extensions.code`: the project's code for a refusal (OpsError,
eventkit.dlq's AdminError), `invalid_request` for a query the schema rejects or a value the
database cannot take (bad input is never an internal error), `unavailable` while ops' own
database is away (a restart), and `internal_error` for a bug, whose details stay in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from graphql.language import OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from eventkit.outages import is_outage
from ops.domain.errors import OpsError

log = logging.getLogger("ops.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if error.extensions and "code" in error.extensions:
        return error
    more: dict[str, Any] = {}
    if isinstance(original, OpsError) or hasattr(original, "code"):
        # A staff API's ApiError keeps the service's own sentence (`message`), without the
        # "409 illegal_transition:" prefix its str() has for logs, and the service's status.
        code = str(original.code)  # type: ignore[union-attr]
        message = str(getattr(original, "message", None) or original)
        status = getattr(original, "status", None)
        if isinstance(status, int) and 400 <= status < 600:
            more["status"] = status
    elif isinstance(original, asyncpg.DataError | UnicodeEncodeError):
        # A value the database cannot take (a NUL, a lone surrogate, a number out of range)
        # came from the caller: their request, not our bug.
        code, message = "invalid_request", "a value in the request cannot be stored or searched"
    elif original is not None and is_outage(original):
        # Ops' own database (or broker) not answering: a restart, not a bug; retry shortly,
        # as a service's own 503 `unavailable` says.
        log.warning("graphql resolver: a dependency is not answering: %r", original)
        code, message = "unavailable", "a database ops needs is not answering; retry shortly"
        more["status"] = 503
    elif original is None or error.path is None:
        # Not raised by a resolver (no path): the query or a variable's value did not fit the
        # schema, e.g. a Date variable "2026-13-45" or an Int beyond 32 bits.
        code, message = "invalid_request", error.message
    else:
        log.error("graphql resolver failed", exc_info=original)
        code, message = "internal_error", "Something went wrong on our side; it is logged."
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": code, **more},
    )


class CodedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = [coded(e) for e in result.errors]


class OneOperationOrItsName(SchemaExtension):
    """A document of several operations needs `operationName` (the GraphQL spec's "Must
    provide operation name"): Strawberry would run the first one. The refusal is a validation
    error, so nothing runs and `CodedErrors` gives it `invalid_request`."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Strawberry keeps the name the request gave (None without one) only under this name.
        named = getattr(context, "_provided_operation_name", None) is not None
        if document is not None and not named and context.pre_execution_errors is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                context.pre_execution_errors = [
                    GraphQLError(
                        "The document holds several operations: say which to run (operationName)."
                    )
                ]
        yield


class StaffSchema(strawberry.Schema):
    """The schema, with strawberry's error log replaced: a refusal or a rejected query is the
    caller's business (one INFO line, no query text), and a bug is logged with its traceback by
    `coded` when it becomes `internal_error`."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            original = error.original_error
            if original is not None and error.path is not None and not hasattr(original, "code"):
                continue  # a bug: `coded` logs it
            code = (error.extensions or {}).get("code") or getattr(
                original, "code", "invalid_request"
            )
            log.info("graphql refused (%s): %s", code, error.message[:200])
