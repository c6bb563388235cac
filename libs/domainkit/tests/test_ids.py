import uuid

from domainkit.ids import led_by_time, new_uuid


def test_ids_are_standard_version_7_uuids_in_the_order_they_were_made() -> None:
    made = [new_uuid() for _ in range(10_000)]
    assert all(isinstance(u, uuid.UUID) and u.version == 7 for u in made)
    assert len(set(made)) == len(made)
    # A B-tree receives them at its right edge: each sorts after the one made before it.
    assert made == sorted(made)
    assert [u.bytes for u in made] == sorted(u.bytes for u in made)


def test_a_derived_id_is_led_by_a_time_ordered_subjects_time_and_no_other() -> None:
    digest = uuid.uuid5(uuid.NAMESPACE_URL, "anything")
    ordered = new_uuid()
    assert led_by_time(str(ordered), digest) == ordered.hex[:12] + digest.hex[12:]
    assert led_by_time(str(uuid.uuid4()), digest) == digest.hex
    assert led_by_time("bk_not_a_uuid", digest) == digest.hex
