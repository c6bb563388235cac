"""Row writes built from our column names: the compare-and-set statement."""

from __future__ import annotations

from eventkit.rows import compare_and_set


def test_a_compare_and_set_numbers_the_key_the_guard_then_the_columns_in_order() -> None:
    statement = compare_and_set("s.things", "thing_id", "version", ["status", "note"])
    assert statement == (
        "UPDATE s.things SET status = $3, note = $4, version = version + 1, "
        "updated_at = now() WHERE thing_id = $1 AND version = $2"
    )


def test_a_compare_and_set_takes_a_changes_mapping_by_its_keys() -> None:
    changes = {"b": 2, "a": 1}
    assert "SET b = $3, a = $4, version" in compare_and_set("t", "k", "version", changes)
