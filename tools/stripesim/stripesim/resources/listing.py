"""Stripe's list envelope and cursor pagination (``limit``, ``starting_after``,
``ending_before``), newest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stripesim.errors import invalid_request, resource_missing
from stripesim.forms import Params, get_int, get_str

PAGINATION_PARAMS = ("limit", "starting_after", "ending_before")


def page(
    params: Params, objects: Iterable[dict[str, Any]], *, kind: str, url: str
) -> dict[str, Any]:
    """One page of ``objects`` (given oldest first, as stored) as Stripe lists them."""
    limit = get_int(params, "limit", minimum=1) or 10
    if limit > 100:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    items = list(reversed(list(objects)))
    ids = [o["id"] for o in items]
    after, before = get_str(params, "starting_after"), get_str(params, "ending_before")
    for cursor, param in ((after, "starting_after"), (before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise resource_missing(kind, cursor, param)
    if after is not None:
        items = items[ids.index(after) + 1 :]
    elif before is not None:
        items = items[: ids.index(before)][-limit:]
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}
