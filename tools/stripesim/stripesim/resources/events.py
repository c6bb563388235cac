"""Event: list (newest first, Stripe's list envelope) and retrieve."""

from __future__ import annotations

from typing import Any

from stripesim.errors import invalid_request, resource_missing
from stripesim.forms import Params, get_int, get_str
from stripesim.routing import route
from stripesim.state import Ctx


@route("GET", "/v1/events", ["limit", "type", "starting_after", "ending_before"])
def list_events(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    limit = get_int(params, "limit", minimum=1) or 10
    if limit > 100:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    wanted = get_str(params, "type")
    events = [e for e in reversed(ctx.state.events) if wanted is None or _type_matches(e, wanted)]
    after = get_str(params, "starting_after")
    before = get_str(params, "ending_before")
    ids = [e["id"] for e in events]
    for cursor, param in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise resource_missing("event", cursor, param)
    if after is not None:
        events = events[ids.index(after) + 1 :]
    elif before is not None:
        events = events[: ids.index(before)][-limit:]
    return {
        "object": "list",
        "data": events[:limit],
        "has_more": len(events) > limit,
        "url": "/v1/events",
    }


def _type_matches(event: dict[str, Any], wanted: str) -> bool:
    if wanted.endswith(".*"):
        return str(event["type"]).startswith(wanted[:-1])
    return bool(event["type"] == wanted)


@route("GET", "/v1/events/{id}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    for event in ctx.state.events:
        if event["id"] == args["id"]:
            return event
    raise resource_missing("event", args["id"], "id")


ROUTES = [list_events, retrieve]
