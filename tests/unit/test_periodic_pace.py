"""eventkit.periodic.Pace: background work that keeps to a share of the time."""

from __future__ import annotations

import pytest

from eventkit.periodic import UNPACED, Pace


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


async def test_after_a_busy_step_it_waits_so_the_work_keeps_to_its_duty() -> None:
    sleeps = Sleeps()
    pace = Pace(0.1, most=10.0, sleep=sleeps)
    await pace.after(0.5)
    await pace.after(0.02)
    assert sleeps.asked == pytest.approx([4.5, 0.18])  # busy / (busy + wait) = 0.1


async def test_a_slow_step_waits_no_longer_than_the_most_so_the_work_keeps_up() -> None:
    sleeps = Sleeps()
    await Pace(0.1, most=3.0, sleep=sleeps).after(2.0)  # a saturated machine: 18 s otherwise
    assert sleeps.asked == [3.0]


async def test_a_full_duty_or_an_idle_step_never_waits() -> None:
    sleeps = Sleeps()
    await Pace(1.0, sleep=sleeps).after(3.0)
    await Pace(0.5, sleep=sleeps).after(0.0)
    assert sleeps.asked == []
    assert UNPACED.duty == 1.0


@pytest.mark.parametrize("duty", [0.0, -0.1, 1.5])
def test_a_duty_outside_zero_to_one_is_refused(duty: float) -> None:
    with pytest.raises(ValueError, match="duty"):
        Pace(duty)
