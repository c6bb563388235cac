"""The identifiers the platform mints: UUIDv7 (RFC 9562), whose leading 48 bits are the
millisecond they were made in.

Every table keyed or indexed by such an id (the inboxes and outboxes by `event_id`, a booking
and every other service's rows by `booking_id`, the ledger by `journal_id` and by the event that
caused a journal) then receives new keys at the right edge of its B-tree, in the pages already
in memory. With random (v4) ids each insert lands on any page of an index that grows with the
history, which is read from disk and written again in full to the WAL after every checkpoint:
Postgres' cost per checkout grew with the history (docs/benchmarks.md).

The ids stay opaque: nothing reads the time back from them. An id derived from another
(`uuid5`) may be led by its subject's time (`led_by_time`), so that it too lands at the right
edge; a subject minted before ids were time-ordered keeps the derived id it always had.
"""

from __future__ import annotations

import uuid

from uuid_utils.compat import uuid7


def new_uuid() -> uuid.UUID:
    """A new, time-ordered id (a standard `uuid.UUID`, version 7)."""
    return uuid7()


def led_by_time(subject: str, digest: uuid.UUID) -> str:
    """`digest` as hex, its first 48 bits the subject's own creation time when the subject is
    a time-ordered id (a UUIDv7): a row keyed by the derived id then lands at the right edge of
    its indexes, as the subject's does. A subject of any other form (an older UUIDv4, not a
    UUID at all) keeps `digest` whole: still the same id for the same subject."""
    try:
        parsed = uuid.UUID(subject)
    except ValueError:
        return digest.hex
    return parsed.hex[:12] + digest.hex[12:] if parsed.version == 7 else digest.hex
