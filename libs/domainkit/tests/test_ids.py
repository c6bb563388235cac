import uuid

from domainkit.ids import new_uuid


def test_ids_are_standard_version_7_uuids_in_the_order_they_were_made() -> None:
    made = [new_uuid() for _ in range(10_000)]
    assert all(isinstance(u, uuid.UUID) and u.version == 7 for u in made)
    assert len(set(made)) == len(made)
    # A B-tree receives them at its right edge: each sorts after the one made before it.
    assert made == sorted(made)
    assert [u.bytes for u in made] == sorted(u.bytes for u in made)
