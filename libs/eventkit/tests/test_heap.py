"""eventkit.heap: a started service's survivors are frozen and young collections are spaced."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from eventkit import heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_survives_and_sets_the_young_threshold(restored_gc: None) -> None:
    survivor = [[i] for i in range(100)]  # lists: tracked by the collector
    older, oldest = gc.get_threshold()[1:]
    heap.settle(12_345)
    assert gc.get_threshold() == (12_345, older, oldest)
    assert gc.get_freeze_count() >= len(survivor)
    walked = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert not any(id(s) in walked for s in survivor)  # frozen: no collection walks them


def test_a_zero_threshold_keeps_pythons_own(restored_gc: None) -> None:
    gc.set_threshold(700, 10, 10)
    heap.settle(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() > 0
