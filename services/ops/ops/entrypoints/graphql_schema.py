"""The staff GraphQL schema: ops' own queries and mutations, and the list other parts plug into.

Each area is one Query class and one Mutation class; `QUERIES` and `MUTATIONS` list them and
the schema merges them. The finance, disputes and booking areas (payout queue, reserves, daily
closes, reconciliation, dispute cases, bookings) are resolved through their services' HTTP
APIs (`ops.adapters.staff_apis`) and are added to these lists by their own module.

Roles, field by field: admin everything; finance: timelines, stuck sagas, dead letters (read);
trust: timelines and stuck sagas. A field refused answers a GraphQL error with
`extensions.code = "forbidden"`; the HTTP layer has already answered 401 without a token.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.tools import merge_types
from strawberry.types import Info

from eventkit.auth import Principal, Role
from ops.domain.dead_letters import Filters
from ops.domain.errors import OpsError, check_page, forbidden
from ops.entrypoints import graphql_types as t
from ops.entrypoints.graphql_trust import TrustMutation, TrustQuery
from ops.service_layer import dead_letter_ops, mutations, timelines

ADMIN, FINANCE, TRUST = Role.ADMIN, Role.FINANCE, Role.TRUST
TIMELINE_ROLES = (ADMIN, FINANCE, TRUST)
DEAD_LETTER_READ = (ADMIN, FINANCE)
DEAD_LETTER_WRITE = (ADMIN,)


def allow(info: Info, *roles: Role) -> Principal:
    """The caller, if its role may use this field; OpsError('forbidden') otherwise."""
    principal: Principal = info.context["principal"]
    if principal.role not in roles:
        raise forbidden(principal.role.value, " or ".join(r.value for r in roles))
    return principal


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Who is signed in (any staff role).")
    def me(self, info: Info) -> t.Me:
        principal = allow(info, ADMIN, FINANCE, TRUST)
        return t.Me(sub=principal.sub, role=principal.role.value)


@strawberry.type
class TimelineQuery:
    @strawberry.field(
        description="The sagas an id appears in (booking, group, payment, refund, payout entry, "
        "dispute, claim, amendment, invite, transfer or release id, an event's key, an event id "
        "or a correlation id), newest first, each with every event and dead letter in order."
    )
    async def timeline(self, info: Info, id: str) -> list[t.SagaTimeline]:
        allow(info, *TIMELINE_ROLES)
        return [t.saga(s) for s in await timelines.find(info.context["pool"], id)]

    @strawberry.field(description="Sagas waiting longer than their type's limit, longest first.")
    async def stuck_sagas(
        self, info: Info, saga_type: str | None = None, first: int = 50, offset: int = 0
    ) -> t.StuckSagaPage:
        allow(info, *TIMELINE_ROLES)
        check_page(first, offset)
        rows = await timelines.stuck(info.context["pool"], saga_type, first + 1, offset)
        items = [
            t.StuckSaga(
                correlation_id=str(r["correlation_id"]), saga_type=r["saga_type"], step=r["step"],
                waiting_since=r["waiting_since"], waited_seconds=r["waited_seconds"],
                limit_seconds=r["limit_seconds"], detected_at=r["detected_at"],
            )
            for r in rows
        ]  # fmt: skip
        return t.StuckSagaPage(items=items[:first], has_more=len(items) > first)


@strawberry.type
class DeadLetterQuery:
    @strawberry.field(description="A service's dead letters, newest first, filtered.")
    async def dead_letters(
        self,
        info: Info,
        service: str,
        event_type: str | None = None,
        error_type: str | None = None,
        key: str | None = None,
        state: str | None = None,
        first: int = 50,
        offset: int = 0,
    ) -> t.DeadLetterPage:
        allow(info, *DEAD_LETTER_READ)
        page = await dead_letter_ops.list_page(
            info.context["pool"],
            info.context["settings"].kafka_bootstrap,
            service,
            Filters(event_type, error_type, key),
            state,
            first,
            offset,
        )
        return t.DeadLetterPage(items=[t.letter(x, d) for x, d in page.items], total=page.total)

    @strawberry.field(description="Dry run: what replaying this dead letter would do.")
    async def replay_preview(
        self, info: Info, service: str, partition: int, offset: int
    ) -> t.ReplayPlan:
        allow(info, *DEAD_LETTER_READ)
        ctx = info.context
        return t.plan(
            await dead_letter_ops.dry_run(
                ctx["pool"], ctx["settings"].kafka_bootstrap, service, partition, offset
            )
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Staff mutations, newest first (admin only).")
    async def audit(
        self, info: Info, target: str | None = None, first: int = 50, offset: int = 0
    ) -> list[t.AuditRecord]:
        allow(info, ADMIN)
        check_page(first, offset)
        rows = await mutations.audit(info.context["pool"], target, first, offset)
        return [t.audit_record(dict(r)) for r in rows]


def _action(result: dict[str, Any]) -> t.DeadLetterAction:
    return t.DeadLetterAction(
        target=result["target"], state=result["state"], topic=result["topic"], note=result["note"]
    )


def _letter_writer(info: Info, token: str) -> tuple[mutations.Caller, str]:
    """The caller of a dead-letter mutation (allowed), and the Kafka the letters are on."""
    caller = mutations.Caller(info.context["pool"], allow(info, *DEAD_LETTER_WRITE), token)
    return caller, info.context["settings"].kafka_bootstrap


@strawberry.type
class DeadLetterMutation:
    @strawberry.mutation(
        description="Re-deliver one dead letter to the service that failed it. A repeated "
        "idempotencyToken returns the first result and replays nothing again."
    )
    async def replay_dead_letter(
        self, info: Info, idempotency_token: str, service: str, partition: int, offset: int
    ) -> t.DeadLetterAction:
        caller, bootstrap = _letter_writer(info, idempotency_token)
        return _action(await dead_letter_ops.replay(caller, bootstrap, service, partition, offset))

    @strawberry.mutation(
        description="Mark a dead letter handled without replaying it, with a note."
    )
    async def skip_dead_letter(
        self,
        info: Info,
        idempotency_token: str,
        service: str,
        partition: int,
        offset: int,
        note: str,
    ) -> t.DeadLetterAction:
        caller, bootstrap = _letter_writer(info, idempotency_token)
        done = await dead_letter_ops.skip(caller, bootstrap, service, partition, offset, note)
        return _action(done)


# The plug-in point: an area adds its Query/Mutation class here (one line each).
QUERIES: list[type] = [AccountQuery, TimelineQuery, DeadLetterQuery, AuditQuery]
QUERIES += [TrustQuery]
MUTATIONS: list[type] = [DeadLetterMutation]
MUTATIONS += [TrustMutation]


def build_schema() -> strawberry.Schema:
    from ops.entrypoints import graphql_finance  # it imports `allow` from here
    from ops.entrypoints.graphql_errors import CodedErrors, OneOperationOrItsName, StaffSchema

    query = merge_types("Query", (*QUERIES, graphql_finance.FinanceQuery))
    mutation = merge_types("Mutation", (*MUTATIONS, graphql_finance.FinanceMutation))
    return StaffSchema(
        query=query, mutation=mutation, extensions=[OneOperationOrItsName, CodedErrors]
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"


__all__ = ["OpsError", "build_schema", "sdl"]
