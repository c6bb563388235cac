from datetime import UTC, datetime, timedelta

from finance.domain.reconciliation import (
    BalanceTransaction,
    ExceptionKind,
    ObjectView,
    Side,
    classify,
    import_journals,
)

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
OLD = NOW - timedelta(hours=1)
GRACE = timedelta(seconds=30)


def view(oid: str = "ch_1", **sides: object) -> ObjectView:
    return ObjectView(object_id=oid, last_seen=OLD, **sides)  # type: ignore[arg-type]


def kinds(v: ObjectView) -> list[ExceptionKind]:
    return [f.kind for f in classify(v, now=NOW, grace=GRACE)]


def test_three_sides_that_agree_reconcile() -> None:
    s = Side(10_000, "usd")
    assert kinds(view(stripe=s, ledger=s, payments=s, types=frozenset({"charge"}))) == []


def test_a_dashboard_refund_is_missing_in_the_ledger_and_nothing_else() -> None:
    v = view("re_1", stripe=Side(-3_000, "usd"), ledger=None, payments=None)
    assert kinds(v) == [ExceptionKind.MISSING_IN_LEDGER]


def test_an_object_stripe_never_saw_is_missing_at_stripe() -> None:
    v = view("re_2", stripe=None, ledger=Side(-3_000, "usd"), payments=Side(-3_000, "usd"))
    assert kinds(v) == [ExceptionKind.MISSING_AT_STRIPE]


def test_amount_sign_and_currency_differences_have_their_own_kinds() -> None:
    s = Side(10_000, "usd")
    assert kinds(view(stripe=s, ledger=Side(9_000, "usd"), payments=s)) == [
        ExceptionKind.AMOUNT_MISMATCH
    ]
    assert kinds(view(stripe=s, ledger=Side(-10_000, "usd"), payments=s)) == [
        ExceptionKind.SIGN_MISMATCH
    ]
    assert kinds(view(stripe=s, ledger=Side(10_000, "eur"), payments=s)) == [
        ExceptionKind.CURRENCY_MISMATCH
    ]


def test_payments_asking_for_another_amount_than_stripe_did_is_a_mismatch() -> None:
    s = Side(-5_000, "usd")
    assert kinds(view("re_3", stripe=s, ledger=s, payments=Side(-4_000, "usd"))) == [
        ExceptionKind.AMOUNT_MISMATCH
    ]


def test_a_fee_on_a_refund_is_unexpected() -> None:
    s = Side(-5_000, "usd")
    v = view("re_4", stripe=s, ledger=s, payments=s, types=frozenset({"refund"}), unexpected_fee=25)
    assert kinds(v) == [ExceptionKind.UNEXPECTED_FEE]


def test_ledger_and_stripe_without_a_payments_request_is_not_requested_but_payouts_are_stripes() -> (
    None
):
    s = Side(-5_000, "usd")
    transfer, payout = frozenset({"transfer"}), frozenset({"payout"})
    assert kinds(view("tr_1", stripe=s, ledger=s, payments=None, types=transfer)) == [
        ExceptionKind.NOT_REQUESTED
    ]
    assert kinds(view("po_1", stripe=s, ledger=s, payments=None, types=payout)) == []


def test_an_object_inside_the_grace_period_is_not_judged_yet() -> None:
    v = ObjectView("re_5", Side(-1, "usd"), None, None, last_seen=NOW - timedelta(seconds=5))
    assert kinds(v) == []


def test_an_unknown_balance_transaction_type_is_raised() -> None:
    s = Side(100, "usd")
    v = view("x_1", stripe=s, ledger=s, payments=s, types=frozenset({"climate_order"}))
    assert kinds(v) == [ExceptionKind.UNKNOWN_TYPE]


def bt(**kw: object) -> BalanceTransaction:
    base: dict[str, object] = dict(
        txn_id="txn_1",
        type="charge",
        source="ch_1",
        amount=10_000,
        fee=320,
        net=9_680,
        currency="usd",
        status="pending",
        created=NOW,
    )
    return BalanceTransaction(**{**base, **kw})  # type: ignore[arg-type]


def test_a_pending_charge_books_its_fee_only() -> None:
    [fee] = import_journals(bt())
    assert fee.kind == "stripe_fee"
    assert dict(fee.postings) == {"expense:stripe_fees": 320, "asset:stripe_balance:pending": -320}


def test_an_available_charge_moves_its_net_to_available() -> None:
    journals = {j.kind: dict(j.postings) for j in import_journals(bt(status="available"))}
    assert journals["balance_available"] == {
        "asset:stripe_balance:available": 9_680,
        "asset:stripe_balance:pending": -9_680,
    }


def test_a_payout_goes_to_the_bank_and_its_failure_comes_back() -> None:
    out = bt(type="payout", source="po_1", amount=-7_000, fee=0, net=-7_000, status="available")
    journals = {j.kind: dict(j.postings) for j in import_journals(out)}
    assert journals["platform_payout"] == {
        "asset:platform_bank": 7_000,
        "asset:stripe_balance:pending": -7_000,
    }
    # available at once: the payout leaves the available balance
    assert journals["balance_available"]["asset:stripe_balance:available"] == -7_000
    back = bt(type="payout_failure", source="po_1", amount=7_000, fee=0, net=7_000)
    [failure] = import_journals(back)
    assert dict(failure.postings) == {
        "asset:stripe_balance:pending": 7_000,
        "asset:platform_bank": -7_000,
    }
