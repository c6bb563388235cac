"""The identifiers the platform mints: UUIDv7 (RFC 9562), whose leading 48 bits are the
millisecond they were made in.

Every table keyed or indexed by such an id (the inboxes and outboxes by `event_id`, a booking
and every other service's rows by `booking_id`, the ledger by `journal_id` and by the event that
caused a journal) then receives new keys at the right edge of its B-tree, in the pages already
in memory. With random (v4) ids each insert lands on any page of an index that grows with the
history, which is read from disk and written again in full to the WAL after every checkpoint:
Postgres' cost per checkout grew with the history (docs/benchmarks.md).

The ids stay opaque: nothing reads the time back from them, and ids derived from others
(`uuid5`) stay as they are.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_uuid() -> uuid.UUID:
    """A new, time-ordered id (a standard `uuid.UUID`, version 7)."""
    return uuid7()
