"""The payout queue's domain: transition table, holds, netting, minimum, reserves, journals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domainkit.transitions import IllegalTransition
from finance.domain import host_journals
from finance.domain.payout_queue import (
    TABLE,
    Entry,
    Hold,
    State,
    Trigger,
    apply,
    dispute_hold,
    net,
    release_trigger,
)
from finance.domain.reserves import (
    NO_RESERVE,
    InvalidPolicy,
    ReserveKind,
    ReservePolicy,
    Scope,
    resolve,
    split,
)

NOW = datetime(2034, 7, 1, 12, tzinfo=UTC)


def entry(state: State = State.SCHEDULED, *holds: str) -> Entry:
    return Entry("pay_1:bk_1", "acct_H", "usd", state, NOW, frozenset(holds))


# -- transitions -----------------------------------------------------------------------------
def test_every_state_is_reachable_and_only_open_entries_can_be_held() -> None:
    assert {s.value for s in State} == TABLE.states()
    for state in (State.RELEASED, State.TRANSFERRED, State.REVERSED):
        with pytest.raises(IllegalTransition) as refused:
            apply(entry(state), Trigger.HOLD, reason=Hold.MANUAL)
        assert refused.value.code == "illegal_transition"


def test_an_entry_stays_held_until_its_last_reason_clears() -> None:
    held, events = apply(entry(), Trigger.HOLD, reason=Hold.MANUAL)
    assert (held.state, events) == (State.HELD, ["payout_held"])
    twice, events = apply(held, Trigger.HOLD, reason=dispute_hold("dp_1"))
    assert twice.holds == {Hold.MANUAL, "dispute:dp_1"} and events == ["payout_held"]
    one_left, events = apply(twice, Trigger.UNHOLD, reason=Hold.MANUAL)
    assert (one_left.state, one_left.holds, events) == (State.HELD, {"dispute:dp_1"}, [])
    free, events = apply(one_left, Trigger.UNHOLD, reason="dispute:dp_1")
    assert (free.state, free.holds, events) == (State.SCHEDULED, frozenset(), ["payout_scheduled"])


def test_holding_again_for_the_same_reason_changes_nothing() -> None:
    held, _ = apply(entry(), Trigger.HOLD, reason=Hold.MANUAL)
    assert apply(held, Trigger.HOLD, reason=Hold.MANUAL) == (held, [])


def test_unholding_a_reason_that_does_not_hold_it_is_refused() -> None:
    held, _ = apply(entry(), Trigger.HOLD, reason=Hold.MANUAL)
    with pytest.raises(IllegalTransition):
        apply(held, Trigger.UNHOLD, reason="dispute:dp_9")


def test_a_held_entry_cannot_be_released_until_unheld() -> None:
    with pytest.raises(IllegalTransition):
        apply(entry(State.HELD, Hold.MANUAL), Trigger.RELEASE)


def test_a_release_is_paid_once_then_transferred_or_failed_and_retried() -> None:
    released, events = apply(entry(), Trigger.RELEASE)
    assert (released.state, events) == (State.RELEASED, ["payout_released"])
    with pytest.raises(IllegalTransition):
        apply(released, Trigger.RELEASE)  # never twice
    failed, events = apply(released, Trigger.TRANSFER_FAILED)
    assert (failed.state, events) == (State.FAILED, ["payout_failed"])
    again, events = apply(failed, Trigger.RETRY)
    assert (again.state, events) == (State.RELEASED, ["payout_released"])
    done, events = apply(again, Trigger.TRANSFERRED)
    assert (done.state, events) == (State.TRANSFERRED, ["payout_transferred"])
    assert apply(done, Trigger.REVERSED)[0].state is State.REVERSED


def test_retry_is_only_for_a_failed_transfer() -> None:
    for state in (State.SCHEDULED, State.RELEASED, State.TRANSFERRED):
        assert not TABLE.allows(state, Trigger.RETRY)


# -- netting and the minimum -----------------------------------------------------------------
def test_what_the_host_owes_is_recovered_before_anything_is_paid() -> None:
    netting = net(10_000, 2_500)
    assert (netting.recovered, netting.pays) == (2_500, 7_500)
    assert release_trigger(netting, minimum=0) is Trigger.RELEASE
    all_of_it = net(2_000, 2_500)
    assert (all_of_it.recovered, all_of_it.pays) == (2_000, 0)
    assert release_trigger(all_of_it, minimum=0) is Trigger.NETTED
    assert net(5_000, 0).pays == 5_000
    assert net(5_000, -300).pays == 5_000  # a credit balance is not netted


def test_below_the_minimum_an_entry_waits_and_nothing_owed_is_not_paid() -> None:
    assert release_trigger(net(499, 0), minimum=500) is Trigger.BELOW_MINIMUM
    assert release_trigger(net(500, 0), minimum=500) is Trigger.RELEASE
    assert release_trigger(net(0, 0), minimum=500) is Trigger.NOTHING_OWED
    waiting, _ = apply(entry(), Trigger.BELOW_MINIMUM)
    assert waiting.state is State.RELEASABLE
    assert apply(waiting, Trigger.RELEASE)[0].state is State.RELEASED


# -- reserves --------------------------------------------------------------------------------
ROLLING = ReservePolicy(
    "rolling10", 2, ReserveKind.ROLLING_PERCENT, percent_bps=1_000, hold_days=30
)
FIXED = ReservePolicy(
    "fixed", 1, ReserveKind.FIXED, fixed_amount=5_000, hold_days=60, currency="usd"
)


def test_a_rolling_reserve_holds_its_percentage_for_its_days() -> None:
    part = split(12_345, "usd", ROLLING, held=0, now=NOW)
    assert (part.releasable, part.reserve) == (11_111, 1_234)  # rounded down for the host
    assert part.release_at == NOW + timedelta(days=30)
    assert part.releasable + part.reserve == 12_345


def test_a_fixed_reserve_only_tops_up_what_is_held() -> None:
    assert split(3_000, "usd", FIXED, held=0, now=NOW).reserve == 3_000
    assert split(3_000, "usd", FIXED, held=4_000, now=NOW).reserve == 1_000
    assert split(3_000, "usd", FIXED, held=5_000, now=NOW).reserve == 0
    assert split(3_000, "eur", FIXED, held=0, now=NOW).reserve == 0  # other currency


def test_no_policy_holds_nothing() -> None:
    part = split(3_000, "usd", NO_RESERVE, held=0, now=NOW)
    assert (part.releasable, part.reserve, part.release_at) == (3_000, 0, None)


def test_the_hosts_policy_wins_over_its_tiers_over_the_platforms() -> None:
    assigned = {(Scope.PLATFORM, ""): NO_RESERVE, (Scope.TIER, "high"): ROLLING}
    assert resolve(assigned, "acct_H", "high") is ROLLING
    assert resolve(assigned, "acct_H", None) is NO_RESERVE
    assigned[(Scope.HOST, "acct_H")] = FIXED
    assert resolve(assigned, "acct_H", "high") is FIXED
    assert resolve({}, "acct_H", "high") is NO_RESERVE


def test_a_policy_that_cannot_hold_anything_is_refused() -> None:
    with pytest.raises(InvalidPolicy):
        ReservePolicy("p", 1, ReserveKind.ROLLING_PERCENT, percent_bps=0, hold_days=3).check()
    with pytest.raises(InvalidPolicy):
        ReservePolicy("p", 1, ReserveKind.FIXED, fixed_amount=100, hold_days=3).check()
    with pytest.raises(InvalidPolicy):
        ReservePolicy("p", 1, ReserveKind.ROLLING_PERCENT, percent_bps=10, hold_days=0).check()


# -- journals --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "debit", "credit"),
    [
        (
            host_journals.reserve_held,
            "liability:host_payable:acct_H",
            "liability:host_reserve:acct_H",
        ),
        (
            host_journals.reserve_released,
            "liability:host_reserve:acct_H",
            "liability:host_payable:acct_H",
        ),
        (
            host_journals.reversal_failed,
            "asset:host_receivable:acct_H",
            "liability:host_payable:acct_H",
        ),
        (host_journals.recovered, "liability:host_payable:acct_H", "asset:host_receivable:acct_H"),
    ],
)
def test_host_journals_balance_between_the_named_accounts(make, debit, credit) -> None:  # type: ignore[no-untyped-def]
    journal = make(amount=700, host_account_id="acct_H", currency="usd")
    assert journal.postings == ((debit, 700), (credit, -700))
    with pytest.raises(ValueError):
        make(amount=0, host_account_id="acct_H", currency="usd")
