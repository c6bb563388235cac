"""Indexes kept on write, so a lookup or a list page costs the same with any history.

Every object gets a sequence number when first stored (creation order, which is Stripe's list
order). ``SeqLists`` keeps, per key, the ascending list of sequence numbers of the objects with
that key: by type, and by each foreign key a list endpoint filters on. Appending keeps a list
sorted; a cursor is found by bisection; a page walks from the cursor and stops after
``limit + 1`` matches.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

# The fields list endpoints (and internal look-ups) filter on, per object type. Their values
# are set at creation and never change, so the index is written once per object.
FOREIGN_KEYS: dict[str, tuple[str, ...]] = {
    "refund": ("charge", "payment_intent"),
    "dispute": ("charge", "payment_intent"),
    "radar.early_fraud_warning": ("charge", "payment_intent"),
    "transfer": ("destination", "transfer_group", "source_transaction"),
    "transfer_reversal": ("transfer",),
    "balance_transaction": ("type", "source", "currency"),
}


class SeqLists:
    """Per key, an ascending list of sequence numbers."""

    def __init__(self) -> None:
        self._lists: defaultdict[Hashable, list[int]] = defaultdict(list)

    def add(self, key: Hashable, seq: int) -> None:
        items = self._lists[key]
        if items and items[-1] > seq:  # only when loading out of order
            items.insert(bisect_left(items, seq), seq)
        else:
            items.append(seq)

    def get(self, key: Hashable) -> list[int]:
        return self._lists.get(key, [])

    def trim(self, min_seq: int) -> None:
        """Forget every sequence number below ``min_seq`` (the oldest events left memory)."""
        for key in list(self._lists):
            items = self._lists[key]
            del items[: bisect_left(items, min_seq)]
            if not items:
                del self._lists[key]

    def clear(self) -> None:
        self._lists.clear()


def contains(seqs: list[int], seq: int) -> bool:
    i = bisect_left(seqs, seq)
    return i < len(seqs) and seqs[i] == seq


def walk(seqs: list[int], *, below: int | None = None, above: int | None = None) -> Iterator[int]:
    """Newest first below ``below``, or oldest first above ``above``, or newest first."""
    if above is not None:
        for i in range(bisect_right(seqs, above), len(seqs)):
            yield seqs[i]
        return
    end = len(seqs) if below is None else bisect_left(seqs, below)
    for i in range(end - 1, -1, -1):
        yield seqs[i]


def collect(
    seqs: Iterator[int],
    fetch: Callable[[int], dict[str, Any] | None],
    matches: Callable[[dict[str, Any]], bool],
    count: int,
) -> list[dict[str, Any]]:
    """The first ``count`` objects of ``seqs`` that exist and match."""
    found: list[dict[str, Any]] = []
    for seq in seqs:
        obj = fetch(seq)
        if obj is not None and matches(obj):
            found.append(obj)
            if len(found) == count:
                break
    return found


def list_page(
    seqs: list[int],
    fetch: Callable[[int], dict[str, Any] | None],
    *,
    limit: int,
    after: int | None = None,
    before: int | None = None,
    matches: Callable[[dict[str, Any]], bool] = lambda _o: True,
) -> tuple[list[dict[str, Any]], bool]:
    """Stripe's cursor pagination, newest first: (data, has_more)."""
    if before is not None:
        newer = collect(walk(seqs, above=before), fetch, matches, limit + 1)
        return list(reversed(newer[:limit])), len(newer) > limit
    older = collect(walk(seqs, below=after), fetch, matches, limit + 1)
    return older[:limit], len(older) > limit
