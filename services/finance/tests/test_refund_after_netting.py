"""What a refund makes a host owe again of what its payout netted (pure)."""

from __future__ import annotations

import pytest

from finance.domain.host_journals import owed_again_after_refund


@pytest.mark.parametrize(
    ("transferred", "netted", "refunds", "owed"),
    [
        (0, 5_100, [5_100], [5_100]),  # all netted, refunded in full: all owed again
        (143, 4_107, [4_250], [4_107]),  # the transfer is reversed, the netted part owed
        (0, 5_100, [2_000, 3_100], [2_000, 3_100]),  # two partial refunds, each its part
        # 8 500 got, 6 500 owed after the first refund: the transfer (5 500) is still owed,
        # so no reversal; the 2 000 too many is netted money. The second: 5 500 reversed.
        (5_500, 3_000, [2_000, 6_500], [2_000, 1_000]),
        (8_500, 0, [8_500], [0]),  # nothing netted: a reversal takes it all
    ],
)
def test_the_netted_part_is_owed_again_once_refunds_pass_the_transfer(
    transferred: int, netted: int, refunds: list[int], owed: list[int]
) -> None:
    host_amount, refunded, got = transferred + netted, 0, []
    for refund in refunds:
        got.append(
            owed_again_after_refund(
                host_amount=host_amount,
                transferred=transferred,
                netted=netted,
                refunded_before=refunded,
                refunded_after=refunded + refund,
            )
        )
        refunded += refund
    assert got == owed
    assert sum(got) <= netted
