"""What the timeline keeps of a record: ids by field name, envelopes even when broken, the
reason a dead letter died."""

from __future__ import annotations

import uuid

from ops.domain.timeline import dead_letter_facts, find_ids, id_values, read_envelope


def test_ids_are_found_by_field_name_at_any_depth_never_by_shape() -> None:
    looks_like_an_id = str(uuid.uuid4())
    data = {
        "booking_id": "b-1",
        "listing_id": looks_like_an_id,  # not an id field the timeline searches by
        "legs": [{"booking_id": "b-2", "payment_id": "p-1"}, {"booking_id": "b-1"}],
        "payout": {"entry_id": 42, "note": looks_like_an_id},
    }
    ids = find_ids(data)
    assert ids == {"booking_id": ["b-1", "b-2"], "payment_id": ["p-1"], "entry_id": ["42"]}
    assert looks_like_an_id not in id_values(ids)


def test_a_poison_message_reads_as_an_empty_envelope() -> None:
    assert read_envelope(b"\xff not json").event_id is None
    assert read_envelope(b"[1, 2]").type is None
    half = read_envelope(b'{"type": "booking.x", "event_id": "not-a-uuid", "data": 3}')
    assert (half.type, half.event_id, half.data) == ("booking.x", None, {})


def test_an_envelope_keeps_its_saga_fields() -> None:
    cid, eid = uuid.uuid4(), uuid.uuid4()
    raw = (
        f'{{"event_id": "{eid}", "type": "booking.booking_confirmed", "version": 1, '
        f'"producer": "booking", "key": "b-1", "correlation_id": "{cid}", '
        f'"occurred_at": "2030-01-01T10:00:00+00:00", "data": {{"booking_id": "b-1"}}}}'
    ).encode()
    env = read_envelope(raw)
    assert (env.event_id, env.correlation_id, env.version) == (eid, cid, 1)
    assert env.occurred_at is not None and env.occurred_at.year == 2030


def test_dead_letter_facts_come_from_the_headers() -> None:
    facts = dead_letter_facts(
        "finance.dlt",
        [
            ("dlt.original.topic", b"payments.events"),
            ("dlt.error.type", b"KeyError"),
            ("dlt.attempts", b"5"),
            ("dlt.consumer.group", b"finance"),
            ("dlt.failed.at", b"2030-01-01T10:00:00+00:00"),
        ],
    )
    assert (facts.service, facts.original_topic, facts.error_type, facts.attempts) == (
        "finance",
        "payments.events",
        "KeyError",
        5,
    )
    assert dead_letter_facts("payments.dlt", []).service == "payments"


def test_a_poison_dead_letter_becomes_a_row_postgres_can_store() -> None:
    from aiokafka.structs import ConsumerRecord

    from ops.service_layer.projection import to_rows

    record = ConsumerRecord(
        topic="payments.dlt", partition=0, offset=3, timestamp=0, timestamp_type=0,
        key=b"k", value=b"\x00\xffpoison", checksum=None, serialized_key_size=1,
        serialized_value_size=8, headers=[("dlt.error.message", b"bad \x00 byte")],
    )  # fmt: skip
    events, [letter] = to_rows([record])
    assert events == []
    assert letter.raw is not None and "\x00" not in letter.raw and "poison" in letter.raw
    assert letter.error_message == "bad \ufffd byte"
    assert (letter.service, letter.event_id) == ("payments", None)
