"""Events produced by the payments service on `payments.events`, keyed by payment id."""

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits
from marketplace_contracts.purposes import (
    cause_field,
    charge_subject_field,
    purpose_field,
    refund_subject_field,
    reversal_cause_field,
)


class PaymentAuthorizedV1(EventModel):
    """The guest's payment is authorized (manual capture) and waits for capture or void."""

    TYPE: ClassVar[str] = "payments.payment_authorized"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    payment_intent_id: str = Field(examples=["pi_3Abc"])
    amount: MinorUnits
    currency: Currency
    card_brand: str | None = None
    card_last4: str | None = None
    group_id: str | None = Field(
        default=None,
        description="Set when the payment is a Linked Booking Group's; `booking_id` then holds "
        "the group id.",
    )
    deposit_setup_intent_id: str | None = Field(
        default=None,
        description="The SetupIntent that saved the card for the booking's security deposit.",
    )


class PaymentFailedV1(EventModel):
    """The payment could not be authorized; nothing is held on the guest's card."""

    TYPE: ClassVar[str] = "payments.payment_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    code: str = Field(examples=["card_declined"])
    decline_code: str | None = Field(default=None, examples=["generic_decline"])
    message: str = ""
    group_id: str | None = Field(
        default=None,
        description="Set when the payment is a Linked Booking Group's; `booking_id` then holds "
        "the group id.",
    )
    charge_request_id: str | None = Field(
        default=None, description="Set when this answers a booking.charge_requested."
    )
    purpose: str | None = purpose_field()
    subject_id: str | None = charge_subject_field()


class PaymentCapturedV1(EventModel):
    """Funds were captured; the split tells finance what the guest paid and who is owed what."""

    TYPE: ClassVar[str] = "payments.payment_captured"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    payment_intent_id: str
    charge_id: str | None
    amount: MinorUnits = Field(description="Captured from the guest.")
    currency: Currency
    platform_fee: MinorUnits
    host_amount: MinorUnits = Field(description="`amount - platform_fee`, owed to the host.")
    host_account_id: str


class PaymentVoidedV1(EventModel):
    """An authorization was cancelled; the hold on the guest's card is released."""

    TYPE: ClassVar[str] = "payments.payment_voided"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    reason: str
    group_id: str | None = Field(
        default=None,
        description="Set when the payment is a Linked Booking Group's; `booking_id` then holds "
        "the group id.",
    )


class PaymentMethodSavedV1(EventModel):
    """The guest's payment method is saved for an off-session charge later (SetupIntent)."""

    TYPE: ClassVar[str] = "payments.payment_method_saved"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    setup_intent_id: str
    card_brand: str | None = None
    card_last4: str | None = None
    group_id: str | None = Field(
        default=None,
        description="Set when the payment is a Linked Booking Group's; `booking_id` then holds "
        "the group id.",
    )


class PaymentSplit(BaseModel):
    """What one booking (a single booking, or one leg of a group) contributed and is owed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    booking_id: str
    host_account_id: str
    amount: MinorUnits = Field(description="Paid by the guest for this booking.")
    platform_fee: MinorUnits
    host_amount: MinorUnits = Field(description="`amount - platform_fee`, owed to the host.")
    tax: MinorUnits = Field(
        default=0, description="Part of `platform_fee` that is tax the platform remits."
    )


class PaymentCapturedV2(EventModel):
    """Funds were captured. v2 carries one split per booking, so a payment for a Linked Booking
    Group (several hosts) tells finance who is owed what; the splits sum to the payment."""

    TYPE: ClassVar[str] = "payments.payment_captured"
    VERSION: ClassVar[int] = 2
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str = Field(description="The booking, or for a group payment the group id.")
    group_id: str | None = None
    payment_intent_id: str
    charge_id: str | None
    amount: MinorUnits = Field(description="Captured from the guest.")
    currency: Currency
    platform_fee: MinorUnits = Field(description="Sum of the splits' platform fees.")
    splits: list[PaymentSplit] = Field(min_length=1)
    transfer_group: str | None = Field(
        default=None,
        description="Stripe transfer group of a separate-charges-and-transfers payment: the "
        "booking id of a single booking's payment (or extra charge), the group id of a Linked "
        "Booking Group's. Set, the platform keeps the funds and pays each host by a transfer "
        "that finance releases (`finance.payout_released`). None only for a single booking's "
        "destination charge made before separate charges replaced them (Stripe paid the host "
        "at capture).",
    )
    charge_request_id: str | None = Field(
        default=None, description="Set when this answers a booking.charge_requested."
    )
    payment_method_type: str = Field(
        default="card", examples=["card", "us_bank_account"], description="How the guest paid."
    )
    funds_hold_until: datetime | None = Field(
        default=None,
        description="A bank debit (ACH) can still be returned after it succeeded: finance holds "
        "the hosts' payouts of this payment until then, or until `payments.funds_cleared`.",
    )
    purpose: str | None = purpose_field()
    subject_id: str | None = charge_subject_field()
    card_brand: str | None = Field(
        default=None,
        description="A checkout charged at once (`capture_at_checkout`): the card, for the "
        "booking's receipts (an authorization names it in `payments.payment_authorized`).",
    )
    card_last4: str | None = None


class RefundSucceededV1(EventModel):
    """Money went back to the guest for one refund request (Stripe refund, or for a payment
    still only authorized, a void or a smaller capture). When `method` is `refund`, finance
    reverses `platform_fee` (of which `tax`) and `host_amount`; they sum to `amount`."""

    TYPE: ClassVar[str] = "payments.refund_succeeded"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    refund_id: str
    payment_id: str
    booking_id: str = Field(description="The booking (or group leg) the refund is for.")
    group_id: str | None = None
    amount: MinorUnits
    currency: Currency
    platform_fee: MinorUnits
    host_amount: MinorUnits
    tax: MinorUnits = 0
    host_account_id: str
    method: str = Field(examples=["refund", "void", "partial_capture"])
    stripe_refund_id: str | None = None
    cause: str | None = cause_field()
    subject_id: str | None = refund_subject_field()


class RefundFailedV1(EventModel):
    """A refund could not be made after every retry: ops must act (see the runbook)."""

    TYPE: ClassVar[str] = "payments.refund_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    refund_id: str
    payment_id: str
    booking_id: str
    group_id: str | None = None
    amount: MinorUnits
    currency: Currency
    code: str = Field(examples=["charge_already_refunded", "api_error"])
    message: str = ""
    attempts: int = Field(ge=1)
    cause: str | None = cause_field()
    subject_id: str | None = refund_subject_field()


class AuthorizationExpiringV1(EventModel):
    """A card authorization is nearing the card networks' limit (about 7 days) and is still not
    captured: booking must capture it (a confirmed booking) or release what it holds, so that no
    authorization lapses silently."""

    TYPE: ClassVar[str] = "payments.authorization_expiring"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str = Field(description="The booking, or for a group payment the group id.")
    group_id: str | None = None
    amount: MinorUnits
    currency: Currency
    authorized_at: datetime
    expires_at: datetime = Field(description="When the authorization lapses at the latest.")
    payment_intent_id: str | None = Field(
        default=None,
        description="The expiring authorization (what `booking.reauthorization_requested` "
        "names when booking renews it).",
    )


class HostAccountUpdatedV1(EventModel):
    """A host's connected account changed (Stripe `account.updated`): whether it can take
    charges and receive payouts. Booking refuses checkouts for a host that cannot take charges."""

    TYPE: ClassVar[str] = "payments.host_account_updated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    host_account_id: str = Field(examples=["acct_1HostLoft01"])
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool = False
    updated_at: datetime = Field(description="When Stripe reported this state (event time).")


# -- ACH Direct Debit ------------------------------------------------------------------------


class PaymentProcessingV1(EventModel):
    """A bank debit (ACH Direct Debit) was initiated: the funds arrive, or the debit fails, in
    a few business days. Booking confirms the booking with its funds pending."""

    TYPE: ClassVar[str] = "payments.payment_processing"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    payment_intent_id: str
    amount: MinorUnits
    currency: Currency
    payment_method_type: str = Field(examples=["us_bank_account"])
    bank_name: str | None = None
    bank_last4: str | None = None


class PaymentReturnedV1(EventModel):
    """A bank debit failed after it was initiated (before the funds arrived), or was returned
    after it succeeded (`after_capture`: finance reverses what it booked at capture)."""

    TYPE: ClassVar[str] = "payments.payment_returned"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    amount: MinorUnits
    currency: Currency
    code: str = Field(examples=["insufficient_funds", "account_closed", "debit_not_authorized"])
    message: str = ""
    after_capture: bool = Field(
        description="True when `payments.payment_captured` was emitted for this payment."
    )
    host_account_id: str
    platform_fee: MinorUnits = 0
    tax: MinorUnits = 0
    dispute_id: str | None = Field(
        default=None,
        description="After capture: the Stripe dispute (`du_…`) by which Stripe took the money "
        "back (Stripe turns an ACH return after success into a dispute); its balance "
        "transaction's source. None on older events and before capture.",
    )


class FundsClearedV1(EventModel):
    """A bank debit's return window passed without a return: finance may pay the host out."""

    TYPE: ClassVar[str] = "payments.funds_cleared"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    amount: MinorUnits
    currency: Currency
    cleared_at: datetime


# -- Connect transfers (separate charges and transfers) ------------------------------------


class TransferCreatedV1(EventModel):
    """A host's share of a separate-charges-and-transfers payment (a single booking's, a
    Linked Booking Group leg's, an extra charge's) was transferred to their connected account,
    as finance released it."""

    TYPE: ClassVar[str] = "payments.transfer_created"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    release_id: str
    transfer_id: str = Field(examples=["tr_1Abc"])
    payment_id: str
    booking_id: str
    group_id: str | None = None
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    transfer_group: str | None = None


class TransferFailedV1(EventModel):
    """A released transfer could not be made (after retries, or refused by Stripe)."""

    TYPE: ClassVar[str] = "payments.transfer_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    release_id: str
    payment_id: str
    booking_id: str
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    code: str
    message: str = ""


class TransferReversedV1(EventModel):
    """Part of a transfer came back from the host's account to the platform (a refund of a
    booking whose host's share was already transferred, or finance's request: `cause`)."""

    TYPE: ClassVar[str] = "payments.transfer_reversed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    reversal_id: str = Field(examples=["trr_1Abc"])
    transfer_id: str
    refund_id: str | None = None
    payment_id: str
    booking_id: str
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    request_id: str | None = Field(
        default=None,
        description="Set when this answers `finance.transfer_reversal_requested` (a lost "
        "dispute's host share, a returned bank debit's).",
    )
    cause: str = reversal_cause_field("refund")


class TransferReversalFailedV1(EventModel):
    """A refund needed part of a transfer back from the host, and Stripe refused the reversal
    (the host's balance cannot cover it, the account is closed, ...): the guest got the money
    back, the host kept it. Finance books what the host owes as a receivable and nets it from
    their next payouts."""

    TYPE: ClassVar[str] = "payments.transfer_reversal_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    reversal_request_id: str = Field(
        description="Payments' id of the reversal it asked for (the refund id, with `:<n>` "
        "for a refund that reverses several transfers); the Stripe idempotency key's subject.",
    )
    refund_id: str | None = None
    transfer_id: str = Field(examples=["tr_1Abc"])
    payment_id: str
    booking_id: str
    host_account_id: str
    amount: MinorUnits = Field(description="What was to come back from the host.")
    currency: Currency
    code: str = Field(examples=["insufficient_funds", "transfer_reversal_refused"])
    message: str = ""
    request_id: str | None = Field(
        default=None, description="Set when this answers `finance.transfer_reversal_requested`."
    )
    cause: str = reversal_cause_field("refund")


# -- Authorization renewal -------------------------------------------------------------------


class PaymentReauthorizedV1(EventModel):
    """A nearly expired authorization was replaced by a new one (off-session, same card and
    amount); the old one is cancelled."""

    TYPE: ClassVar[str] = "payments.payment_reauthorized"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    group_id: str | None = None
    payment_intent_id: str
    previous_payment_intent_id: str
    amount: MinorUnits
    currency: Currency
    authorized_at: datetime


class ReauthorizationFailedV1(EventModel):
    """The card declined the new authorization: booking releases what the old one held."""

    TYPE: ClassVar[str] = "payments.reauthorization_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str
    group_id: str | None = None
    code: str
    decline_code: str | None = None
    message: str = ""


# -- Strong customer authentication -----------------------------------------------------------


class PaymentActionRequiredV1(EventModel):
    """The guest's bank wants them to authenticate (3-D Secure) before the payment is
    authorized: the client finishes it with Stripe.js (`handleNextAction` with
    `client_secret`). `payments.payment_authorized` or `payments.payment_failed` follows."""

    TYPE: ClassVar[str] = "payments.payment_action_required"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payment_id: str
    booking_id: str = Field(description="The booking, or for a group payment the group id.")
    group_id: str | None = None
    payment_intent_id: str
    action_type: str = Field(examples=["use_stripe_sdk", "redirect_to_url"])
    client_secret: str = Field(
        description="What Stripe.js needs to show the bank's step to the guest (give it to the "
        "guest who pays only)."
    )
    redirect_url: str | None = Field(
        default=None, description="For `redirect_to_url`: where to send the guest."
    )


# -- The platform's own payouts ---------------------------------------------------------------


class PlatformPayoutUpdatedV1(EventModel):
    """A payout of the platform's Stripe balance to its bank account was created or changed
    (Stripe's `payout.created|updated|paid|failed|canceled` on the platform account). Keyed by
    the payout id. Finance imports the payout's balance transactions when it sees one."""

    TYPE: ClassVar[str] = "payments.platform_payout_updated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    payout_id: str = Field(examples=["po_1Abc"])
    amount: MinorUnits
    currency: Currency
    status: str = Field(examples=["pending", "in_transit", "paid", "failed", "canceled"])
    arrival_date: datetime | None = Field(
        default=None, description="When the bank is expected to (or did) receive it."
    )
    failure_code: str | None = Field(default=None, examples=["account_closed"])
    updated_at: datetime = Field(description="When Stripe reported this state (event time).")
