"""Finance's side of the payments integration tests: apply payments' events with finance's own
routing table, in a transaction rolled back once every journal has balanced."""

from __future__ import annotations

from typing import Any

from eventkit.db import connect
from eventkit.outbox import Outbox
from finance.entrypoints.consumers import build_router as finance_router
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts import Envelope
from tests.conftest import service_dsn

POSTINGS = (
    "SELECT j.kind, j.booking_id, j.stripe_object_id, p.account, p.amount FROM finance.postings p "
    "JOIN finance.journals j USING (journal_id) WHERE j.source_event_id = ANY($1::uuid[]) "
    "ORDER BY p.posting_id"
)


async def finance_applies(
    envs: list[Envelope], after: list[Envelope] | tuple[Envelope, ...] = ()
) -> list[dict[str, Any]]:
    """Finance's routing table applies every envelope (each twice: one journal per fact) in one
    transaction, rolled back once the deferred balance check has passed; the postings. The
    facts `after` comes after (a refund's capture, say) are applied first, their postings not
    returned."""
    router = finance_router(FinanceHandlers(Outbox("finance", "finance")))
    conn = await connect(service_dsn("finance"))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            for env in [*after, *envs, *envs]:
                route = router.route_for(env)
                assert route is not None, env.type
                await route.apply(conn, env, route.model.model_validate(env.data), None)
            await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every journal balances
            rows = await conn.fetch(POSTINGS, [env.event_id for env in envs])
            return [dict(r) for r in rows]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


def balances(postings: list[dict[str, Any]], kind: str | None = None) -> dict[str, int]:
    """Sum per account of the postings (of one journal kind, if given)."""
    totals: dict[str, int] = {}
    for p in postings:
        if kind is None or p["kind"] == kind:
            totals[p["account"]] = totals.get(p["account"], 0) + p["amount"]
    return totals
