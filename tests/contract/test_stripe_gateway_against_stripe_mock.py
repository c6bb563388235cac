"""Contract: every StripeGateway call is a valid request according to Stripe's OpenAPI spec.

stripe-mock (Stripe's official mock, started from STRIPE_MOCK_BIN on a free 127.0.0.1 port)
validates each request against the spec and answers with fixture data, so these tests check
request *shapes* (paths, parameter names/types, expansions) and that responses parse, not
business behaviour (that is what the simulator tests do).
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import stripe

from domainkit.money import STRIPE_MAX_AMOUNT
from payments.adapters.stripe_gateway import (
    PaymentIntentResult,
    RefundResult,
    SetupIntentResult,
    StripeGateway,
    StripeGatewayError,
    TransferResult,
    TransferReversalResult,
)
from tests.support.poll import wait_until

pytestmark = [
    pytest.mark.stripe_mock,
    # stripe-python's HTTPXClient posts form bodies via `data=`; not our code.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

# stripe-mock accepts only keys shaped like sk_test_<alphanumerics>.
API_KEY = "sk_test_contract"
_LISTENING = re.compile(r"Listening for HTTP at address: 127\.0\.0\.1:(\d+)")


def _pump(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


@pytest.fixture(scope="module")
def stripe_mock_base() -> Iterator[str]:
    binary = os.environ.get("STRIPE_MOCK_BIN", "")
    if not binary or not os.access(binary, os.X_OK):
        pytest.skip(
            "stripe-mock not available: set STRIPE_MOCK_BIN to the binary "
            f"(`make setup` installs .tools/bin/stripe-mock); got {binary!r}"
        )
    # Port 0 ("127.0.0.1:") lets the OS pick; both listeners bound to loopback only.
    proc = subprocess.Popen(
        [binary, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    try:
        port = _wait_for_port(proc, lines)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_port(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> int:
    seen: list[str] = []

    def announced() -> int | None:
        """The port of stripe-mock's "listening" line, when the next line (0.2 s) is it."""
        if proc.poll() is not None:
            raise RuntimeError(f"stripe-mock exited ({proc.poll()}): {''.join(seen)}")
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            return None
        seen.append(line)
        found = _LISTENING.search(line)
        return int(found.group(1)) if found else None

    try:
        port: int = wait_until(announced, lambda p: p is not None, timeout=30, interval=0)
    except AssertionError as exc:
        raise RuntimeError(f"stripe-mock did not start: {exc}: {''.join(seen)}") from None
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        return port


@pytest.fixture
async def gateway(stripe_mock_base: str) -> AsyncIterator[StripeGateway]:
    gw = StripeGateway(API_KEY, stripe_mock_base)
    yield gw
    await gw.close()


def _assert_parsed(result: PaymentIntentResult) -> None:
    assert isinstance(result, PaymentIntentResult)
    assert result.id.startswith("pi_")
    assert isinstance(result.status, str) and result.status
    for amount in (result.amount, result.amount_capturable, result.amount_received):
        assert isinstance(amount, int)
    assert isinstance(result.currency, str) and len(result.currency) == 3


async def test_create_customer(gateway: StripeGateway) -> None:
    customer = await gateway.create_customer(
        guest_id="guest-1", idempotency_key="payments:create_customer:guest-1"
    )
    assert customer.startswith("cus_")


async def test_authorize_destination_charge(gateway: StripeGateway) -> None:
    """A destination charge: what a single booking's payment was before separate charges
    replaced them (still made for such a payment's renewal or saved-card charge)."""
    result = await gateway.authorize(
        amount=12_500,
        currency="eur",
        payment_method="pm_card_visa",
        customer="cus_123",
        application_fee_amount=1_875,
        destination_account="acct_123",
        metadata={"payment_id": "p1", "booking_id": "b1"},
        idempotency_key="payments:authorize:p1",
    )
    _assert_parsed(result)
    assert (result.amount, result.currency) == (12_500, "eur")  # echoed by stripe-mock
    assert result.charge_id is not None  # latest_charge was expanded


async def test_charge_at_checkout_is_an_automatic_capture_stripe_accepts(
    gateway: StripeGateway,
) -> None:
    """An Instant Book's card charged at checkout (`capture=True`): the same PaymentIntent as
    an authorization, with `capture_method=automatic`, saved for off-session use."""
    result = await gateway.authorize(
        amount=12_500,
        currency="usd",
        payment_method="pm_card_visa",
        customer="cus_123",
        application_fee_amount=0,
        destination_account=None,
        transfer_group="booking-1",
        metadata={"payment_id": "p1", "booking_id": "b1"},
        setup_future_usage="off_session",
        capture=True,
        idempotency_key="payments:charge:p1",
    )
    _assert_parsed(result)
    assert result.amount == 12_500


async def test_authorize_minimal(gateway: StripeGateway) -> None:
    result = await gateway.authorize(
        amount=5_000,
        currency="usd",
        payment_method="pm_card_visa",
        customer=None,
        application_fee_amount=0,
        destination_account=None,
        metadata={},
        idempotency_key="payments:authorize:p2",
    )
    _assert_parsed(result)


async def test_authorize_transfer_group_charge_without_destination(
    gateway: StripeGateway,
) -> None:
    """A single booking's or a Linked Booking Group's payment: separate charges and transfers
    (the funds stay on the platform; no destination, no application fee)."""
    result = await gateway.authorize(
        amount=48_000,
        currency="usd",
        payment_method="pm_card_visa",
        customer="cus_123",
        application_fee_amount=0,
        destination_account=None,
        transfer_group="grp_7f3c",
        metadata={"payment_id": "p3", "group_id": "grp_7f3c"},
        idempotency_key="payments:authorize:p3",
    )
    _assert_parsed(result)
    assert (result.amount, result.currency) == (48_000, "usd")
    assert result.transfer_group == "grp_7f3c"  # echoed by stripe-mock


@pytest.mark.parametrize("group", [False, True], ids=["destination", "transfer_group"])
async def test_authorize_saving_the_card_for_off_session_use(
    gateway: StripeGateway, group: bool
) -> None:
    """A checkout's authorization also saves the card (`setup_future_usage=off_session`) for
    the extra charges of amendments and overtime, on a destination charge (a payment made before
    separate charges) and on a transfer-group charge (every payment now)."""
    result = await gateway.authorize(
        amount=12_500,
        currency="usd",
        payment_method="pm_card_visa",
        customer="cus_123",
        application_fee_amount=0 if group else 1_875,
        destination_account=None if group else "acct_123",
        transfer_group="grp_7f3c" if group else None,
        metadata={"payment_id": "p4"},
        setup_future_usage="off_session",
        idempotency_key=f"payments:authorize:p4-{group}",
    )
    _assert_parsed(result)
    assert result.payment_method is not None  # stripe-mock's fixture names one
    # The parameter is validated against the spec: a value Stripe does not know is refused.
    with pytest.raises(StripeGatewayError) as excinfo:
        await gateway.authorize(
            amount=12_500,
            currency="usd",
            payment_method="pm_card_visa",
            customer="cus_123",
            application_fee_amount=0,
            destination_account=None,
            metadata={},
            setup_future_usage="forever",  # type: ignore[arg-type]
            idempotency_key=f"payments:authorize:p5-{group}",
        )
    assert (excinfo.value.http_status, excinfo.value.retryable) == (400, False)


async def test_an_amount_beyond_the_processors_limit_is_refused_without_a_request(
    gateway: StripeGateway,
) -> None:
    """Refused before stripe-mock is asked (it would accept any amount): permanent."""
    for create in (
        lambda amount: gateway.authorize(
            amount=amount,
            currency="usd",
            payment_method="pm_card_visa",
            customer="cus_123",
            application_fee_amount=0,
            destination_account=None,
            transfer_group="b1",
            metadata={},
            idempotency_key=f"payments:authorize:limit-{amount}",
        ),
        lambda amount: gateway.charge_off_session(
            amount=amount,
            currency="usd",
            customer="cus_123",
            payment_method="pm_card_visa",
            application_fee_amount=0,
            destination_account=None,
            metadata={},
            capture=True,
            idempotency_key=f"payments:charge:limit-{amount}",
        ),
    ):
        with pytest.raises(StripeGatewayError) as excinfo:
            await create(STRIPE_MAX_AMOUNT + 1)
        assert (excinfo.value.code, excinfo.value.retryable) == ("amount_too_large", False)
        assert excinfo.value.http_status is None  # no response: nothing was sent
        _assert_parsed(await create(STRIPE_MAX_AMOUNT))


async def test_debit_bank_account(gateway: StripeGateway) -> None:
    """ACH Direct Debit: us_bank_account, automatic capture, an online mandate, no destination."""
    result = await gateway.debit_bank_account(
        amount=30_000,
        currency="usd",
        payment_method="pm_usBankAccount",
        customer="cus_123",
        mandate_ip_address="203.0.113.7",
        mandate_user_agent="Mozilla/5.0",
        transfer_group="b-ach",
        metadata={"payment_id": "p-ach", "booking_id": "b-ach"},
        idempotency_key="payments:debit:p-ach",
    )
    _assert_parsed(result)
    assert (result.amount, result.currency) == (30_000, "usd")


async def test_capture_full_and_partial(gateway: StripeGateway) -> None:
    _assert_parsed(await gateway.capture("pi_123", idempotency_key="payments:capture:p1"))
    _assert_parsed(
        await gateway.capture(
            "pi_123", amount_to_capture=1_000, idempotency_key="payments:capture:p2"
        )
    )


async def test_partial_capture_with_a_smaller_application_fee(gateway: StripeGateway) -> None:
    _assert_parsed(
        await gateway.capture(
            "pi_123",
            amount_to_capture=10_000,
            application_fee_amount=1_500,
            idempotency_key="payments:partial-capture:r1",
        )
    )


@pytest.mark.parametrize("destination", [True, False], ids=["destination", "group"])
async def test_refund(gateway: StripeGateway, destination: bool) -> None:
    """A destination charge's refund reverses the transfer and the application fee; a group's
    (no destination) passes neither flag."""
    result = await gateway.refund(
        payment_intent_id="pi_123",
        amount=2_500,
        metadata={"refund_id": "r1", "payment_id": "p1", "booking_id": "b1"},
        idempotency_key=f"payments:refund:r1-{destination}",
        reverse_transfer=destination,
        refund_application_fee=destination,
    )
    assert isinstance(result, RefundResult)
    assert result.id.startswith("re_")
    assert isinstance(result.status, str) and result.status
    assert isinstance(result.amount, int) and len(result.currency) == 3


async def test_create_transfer(gateway: StripeGateway) -> None:
    """A leg's payout: a transfer of the group's transfer group, funded from its charge."""
    result = await gateway.create_transfer(
        amount=17_000,
        currency="usd",
        destination="acct_1HostLeg",
        transfer_group="grp_7f3c",
        source_transaction="ch_123",
        metadata={"payment_id": "p1", "booking_id": "b1", "release_id": "rel_p1_b1_1"},
        idempotency_key="payments:transfer:rel_p1_b1_1",
    )
    assert isinstance(result, TransferResult)
    assert result.id.startswith("tr_") and isinstance(result.amount, int)


async def test_reverse_transfer(gateway: StripeGateway) -> None:
    result = await gateway.reverse_transfer(
        "tr_123",
        amount=5_000,
        metadata={"refund_id": "r1", "payment_id": "p1", "booking_id": "b1"},
        idempotency_key="payments:transfer_reversal:r1",
    )
    assert isinstance(result, TransferReversalResult)
    assert result.id.startswith("trr_") and isinstance(result.amount, int)


async def test_charge_transfer(gateway: StripeGateway) -> None:
    transfer = await gateway.charge_transfer("ch_123")
    assert transfer is None or transfer.startswith("tr_")


async def test_cancel(gateway: StripeGateway) -> None:
    _assert_parsed(await gateway.cancel("pi_123", idempotency_key="payments:cancel:p1"))
    _assert_parsed(
        await gateway.cancel(
            "pi_123", idempotency_key="payments:cancel:p2", cancellation_reason="abandoned"
        )
    )


async def test_retrieve(gateway: StripeGateway) -> None:
    _assert_parsed(await gateway.retrieve("pi_123"))


def _assert_setup_parsed(result: SetupIntentResult) -> None:
    assert isinstance(result, SetupIntentResult)
    assert result.id.startswith("seti_")
    assert isinstance(result.status, str) and result.status


async def test_save_payment_method(gateway: StripeGateway) -> None:
    result = await gateway.save_payment_method(
        customer="cus_123",
        payment_method="pm_card_visa",
        metadata={"booking_id": "b1"},
        idempotency_key="payments:save_payment_method:b1",
    )
    _assert_setup_parsed(result)


async def test_retrieve_setup_intent(gateway: StripeGateway) -> None:
    _assert_setup_parsed(await gateway.retrieve_setup_intent("seti_123"))


@pytest.mark.parametrize("capture", [True, False])
async def test_charge_off_session(gateway: StripeGateway, capture: bool) -> None:
    result = await gateway.charge_off_session(
        amount=40_000,
        currency="eur",
        customer="cus_123",
        payment_method="pm_123",
        application_fee_amount=6_000,
        destination_account="acct_123",
        metadata={"payment_id": "p1", "booking_id": "b1"},
        capture=capture,
        idempotency_key=f"payments:charge_off_session:p1-{capture}",
    )
    _assert_parsed(result)
    assert (result.amount, result.currency) == (40_000, "eur")  # echoed by stripe-mock
    assert result.charge_id is not None  # latest_charge was expanded


async def test_charge_off_session_minimal(gateway: StripeGateway) -> None:
    result = await gateway.charge_off_session(
        amount=5_000,
        currency="usd",
        customer="cus_123",
        payment_method="pm_123",
        application_fee_amount=0,
        destination_account=None,
        metadata={},
        capture=True,
        idempotency_key="payments:charge_off_session:p2",
    )
    _assert_parsed(result)


@pytest.mark.parametrize("capture", [True, False])
async def test_charge_off_session_transfer_group(gateway: StripeGateway, capture: bool) -> None:
    result = await gateway.charge_off_session(
        amount=48_000,
        currency="usd",
        customer="cus_123",
        payment_method="pm_123",
        application_fee_amount=0,
        destination_account=None,
        transfer_group="grp_7f3c",
        metadata={"payment_id": "p3", "group_id": "grp_7f3c"},
        capture=capture,
        idempotency_key=f"payments:charge:p3-{capture}",
    )
    _assert_parsed(result)
    assert (result.amount, result.currency) == (48_000, "usd")
    assert result.transfer_group == "grp_7f3c"  # echoed by stripe-mock


async def test_save_payment_method_for_a_group(gateway: StripeGateway) -> None:
    result = await gateway.save_payment_method(
        customer="cus_123",
        payment_method="pm_card_visa",
        metadata={"payment_id": "p3", "group_id": "grp_7f3c"},
        idempotency_key="payments:setup:p3",
    )
    _assert_setup_parsed(result)


async def test_validation_is_live(gateway: StripeGateway) -> None:
    """stripe-mock really validates: a bogus parameter is refused."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        await gateway.client.v1.payment_intents.create_async(
            {"amount": 1_000, "currency": "usd", "bogus_parameter": "1"},  # type: ignore[typeddict-unknown-key]
            options={"idempotency_key": "contract:bogus"},
        )
    assert excinfo.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        await gateway.client.v1.setup_intents.create_async(
            {"customer": "cus_123", "bogus_parameter": "1"},  # type: ignore[typeddict-unknown-key]
            options={"idempotency_key": "contract:bogus-setup"},
        )
    assert excinfo.value.http_status == 400

    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        await gateway.client.v1.refunds.create_async(
            {"payment_intent": "pi_123", "bogus_parameter": "1"},  # type: ignore[typeddict-unknown-key]
            options={"idempotency_key": "contract:bogus-refund"},
        )
    assert excinfo.value.http_status == 400

    # ... and the gateway turns such a refusal into a non-retryable StripeGatewayError.
    with pytest.raises(StripeGatewayError) as gw_excinfo:
        await gateway.cancel(
            "pi_123",
            idempotency_key="payments:cancel:bogus",
            cancellation_reason="not_a_reason",  # type: ignore[arg-type]
        )
    assert gw_excinfo.value.retryable is False
    assert gw_excinfo.value.http_status == 400
