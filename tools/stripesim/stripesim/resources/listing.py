"""Stripe's list envelope and cursor pagination (``limit``, ``starting_after``,
``ending_before``), newest first, walked over an index (see ``indexes``): a page costs about
``limit`` look-ups, however many objects there are."""

from __future__ import annotations

from typing import Any

from stripesim.errors import invalid_request, resource_missing
from stripesim.forms import Params, get_int, get_str
from stripesim.indexes import contains, list_page
from stripesim.state import SimState

PAGINATION_PARAMS = ("limit", "starting_after", "ending_before")


def get_limit(params: Params) -> int:
    limit = get_int(params, "limit", minimum=1) or 10
    if limit > 100:
        raise invalid_request("This value must be less than or equal to 100.", param="limit")
    return limit


def page(
    state: SimState,
    params: Params,
    object_type: str,
    filters: dict[str, str | None] | None = None,
    *,
    kind: str,
    url: str,
) -> dict[str, Any]:
    """One page of the objects of ``object_type`` whose fields equal ``filters``."""
    limit = get_limit(params)
    seqs, matches = state.find(object_type, **(filters or {}))
    cursors: dict[str, int | None] = {}
    for param in ("starting_after", "ending_before"):
        cursor = get_str(params, param)
        seq = None if cursor is None else state.seq(cursor)
        if cursor is not None:
            found = None if seq is None else state.by_seq(seq)
            if seq is None or found is None or not contains(seqs, seq) or not matches(found):
                raise resource_missing(kind, cursor, param)
        cursors[param] = seq
    after = cursors["starting_after"]
    data, has_more = list_page(
        seqs,
        state.by_seq,
        limit=limit,
        after=after,
        before=cursors["ending_before"] if after is None else None,
        matches=matches,
    )
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
