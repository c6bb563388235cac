from datetime import UTC, date, datetime, time

from finance.domain.close import (
    Acknowledgement,
    Blocker,
    TieOut,
    blockers,
    business_date,
    day_ends_at,
    parse_cutoff,
    summary,
    unacknowledged,
)


def test_a_business_day_starts_at_the_cutoff() -> None:
    cutoff = parse_cutoff("17:00")
    assert business_date(datetime(2026, 12, 4, 16, 59, tzinfo=UTC), cutoff) == date(2026, 12, 3)
    assert business_date(datetime(2026, 12, 4, 17, 0, tzinfo=UTC), cutoff) == date(2026, 12, 4)
    assert day_ends_at(date(2026, 12, 4), cutoff) == datetime(2026, 12, 5, 17, tzinfo=UTC)
    assert business_date(datetime(2026, 12, 4, 0, 0, tzinfo=UTC), time(0)) == date(2026, 12, 4)


def test_tieouts_that_tie_block_nothing_and_others_block_with_their_difference() -> None:
    found = blockers(
        [TieOut("stripe_pending", 100, 100), TieOut("stripe_available", 700, 1_000)], []
    )
    assert found == [Blocker("stripe_available", -300, "ledger 700, outside 1000")]


def test_open_exceptions_block_the_close() -> None:
    found = blockers([], [(7, "missing_in_ledger", "re_1: refund")])
    assert [b.item for b in found] == ["exception:7"]


def test_an_acknowledgement_covers_only_the_difference_it_names() -> None:
    found = [Blocker("stripe_available", -300, ""), Blocker("exception:7", 0, "")]
    ack = Acknowledgement("stripe_available", -300, "dashboard refund", "ops")
    assert unacknowledged(found, [ack]) == [found[1]]
    grown = [Blocker("stripe_available", -500, "")]
    assert unacknowledged(grown, [ack]) == grown


def test_the_summary_reads_fees_payouts_and_reserves_from_the_movements() -> None:
    moved = [
        {"account": "expense:stripe_fees", "debits": 320, "credits": 0},
        {"account": "asset:platform_bank", "debits": 7_000, "credits": 0},
        {"account": "liability:host_reserve:acct_1", "debits": 100, "credits": 500},
        {"account": "revenue:platform_fees", "debits": 0, "credits": 1_500},
        {"account": "expense:stripe_dispute_fees", "debits": 3_000, "credits": 1_500},
        {"account": "expense:dispute_losses", "debits": 6_000, "credits": 0},
    ]
    figures = summary(moved)
    assert figures["stripe_fees"] == 320
    assert figures["platform_payouts"] == 7_000
    assert (figures["reserves_held"], figures["reserves_released"]) == (500, 100)
    assert figures["platform_fees"] == 1_500
    assert (figures["dispute_fees"], figures["dispute_losses"]) == (1_500, 6_000)
