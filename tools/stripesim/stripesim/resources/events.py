"""Event: list (newest first, Stripe's list envelope) and retrieve, from the event log's
indexes (by id, by type and by ``type.*`` prefix)."""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params, get_str
from stripesim.resources.listing import get_limit
from stripesim.routing import route
from stripesim.state import Ctx


@route("GET", "/v1/events", ["limit", "type", "starting_after", "ending_before"])
def list_events(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    limit = get_limit(params)
    after = get_str(params, "starting_after")
    before = get_str(params, "ending_before")
    found = ctx.state.events.page(get_str(params, "type"), limit, after, before)
    if isinstance(found, str):
        cursor = after if found == "starting_after" else before
        raise resource_missing("event", str(cursor), found)
    data, has_more = found
    return {"object": "list", "data": data, "has_more": has_more, "url": "/v1/events"}


@route("GET", "/v1/events/{id}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    event = ctx.state.event(args["id"])
    if event is None:
        raise resource_missing("event", args["id"], "id")
    return event


ROUTES = [list_events, retrieve]
