"""Every GraphQL error carries `extensions.code`: the project's code for a refusal (OpsError,
eventkit.dlq's AdminError), `invalid_request` for a query the schema rejects (bad input is
never an internal error), and `internal_error` for a bug, whose details stay in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from ops.domain.errors import OpsError

log = logging.getLogger("ops.graphql")


def coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if error.extensions and "code" in error.extensions:
        return error
    if isinstance(original, OpsError) or hasattr(original, "code"):
        # A staff API's refusal (ApiError) keeps its code and its own sentence, not the status.
        code = str(original.code)  # type: ignore[union-attr]
        message = str(getattr(original, "message", "") or original)
    elif original is None:
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
        extensions={**(error.extensions or {}), "code": code},
    )


class CodedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = [coded(e) for e in result.errors]
