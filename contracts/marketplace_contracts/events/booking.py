"""Events produced by the booking service on `booking.events`, keyed by booking id (group
events by group id)."""

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits
from marketplace_contracts.purposes import charge_subject_field


class QuoteLine(BaseModel):
    """One line of the quote a guest accepted."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(examples=["base", "cleaning", "extra:lighting", "guest_service_fee", "tax"])
    description: str = ""
    amount: MinorUnits


class CheckoutRequestedV1(EventModel):
    """A slot is held and the booking asks payments to authorize the guest's payment."""

    TYPE: ClassVar[str] = "booking.checkout_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    guest_id: str
    listing_id: str
    host_id: str
    host_account_id: str
    starts_at: datetime
    ends_at: datetime
    amount: MinorUnits = Field(description="Total the guest pays.")
    currency: Currency
    platform_fee: MinorUnits = Field(description="Part of `amount` the platform keeps.")
    payment_method: str = Field(
        description="Stripe PaymentMethod id chosen by the guest.", examples=["pm_card_visa"]
    )
    tax: MinorUnits = Field(
        default=0, description="Part of `platform_fee` that is tax the platform remits."
    )
    save_for_later: bool = Field(
        default=False,
        description="Save the payment method now (SetupIntent) and charge it off-session when "
        "the booking is confirmed, instead of authorizing: card authorizations lapse after "
        "about 7 days, so a Request-to-Book starting later cannot hold one.",
    )
    payment_method_type: str = Field(
        default="card",
        description="`card` (authorized with manual capture, or charged at once: "
        "`capture_at_checkout`) or `us_bank_account` (ACH Direct Debit: debited at once, "
        "`processing` for days; Instant Book only).",
        examples=["card", "us_bank_account"],
    )
    capture_at_checkout: bool = Field(
        default=False,
        description="Charge the card at once (automatic capture) instead of authorizing it: an "
        "Instant Book, where only its payment stands between the booking and its confirmation. "
        "Payments answers `payments.payment_captured` and booking confirms on it; a booking "
        "that ended meanwhile answers `booking.booking_failed`, and payments refunds the charge "
        "in full (cause `checkout_failed`). False: authorized, captured at `booking_confirmed`.",
    )
    deposit_amount: MinorUnits = Field(
        default=0,
        description="Security deposit the listing requires (0: none). Payments saves the card "
        "for it with a SetupIntent before authorizing; nothing is held on the card.",
    )
    mandate_ip_address: str | None = Field(
        default=None,
        description="A bank debit: the IP address the guest accepted the debit mandate from "
        "(Stripe `mandate_data`, online acceptance).",
    )
    mandate_user_agent: str | None = Field(
        default=None,
        description="A bank debit: the User-Agent of the guest's client when accepting the "
        "mandate.",
    )
    client_ip: str | None = Field(
        default=None,
        description="The IP address the guest checked out from (dispute evidence).",
        examples=["203.0.113.9"],
    )
    user_agent: str | None = Field(
        default=None, description="The User-Agent of the guest's client at checkout."
    )
    cancellation_policy: dict[str, Any] | None = Field(
        default=None,
        description="The cancellation policy snapshot the guest accepted (id, version, name, "
        "rules), as booking stored it.",
    )
    quote_lines: list[QuoteLine] = Field(
        default_factory=list, description="The quote the guest accepted, line by line."
    )


class BookingConfirmedV1(EventModel):
    """Every hold of the booking is confirmed; payments may capture (a checkout charged at
    once, `capture_at_checkout`, is captured already)."""

    TYPE: ClassVar[str] = "booking.booking_confirmed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str
    amount: MinorUnits
    currency: Currency
    payment_captured: bool = Field(
        default=False,
        description="The payment is captured already (an Instant Book's card charged at "
        "checkout, or a payment due that the guest paid): payments takes nothing more. False: "
        "payments captures it (or charges the saved card), unless it finds it captured.",
    )


class BookingFailedV1(EventModel):
    """The checkout ended without a booking; its slot is released."""

    TYPE: ClassVar[str] = "booking.booking_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str | None = Field(
        default=None, description="Authorization to void, if one was made."
    )
    reason: str = Field(
        description="Machine-readable reason: payment_declined, hold_expired, host_declined, "
        "request_expired, booking_not_pending.",
        examples=["payment_declined"],
    )
    detail: str = ""


class HostResponseRequestedV1(EventModel):
    """Request-to-Book: the guest's payment is authorized; the host must accept or decline."""

    TYPE: ClassVar[str] = "booking.host_response_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str
    host_id: str
    listing_id: str
    respond_by: datetime = Field(description="After this the request expires and is voided.")


class InvitedExtra(BaseModel):
    """A priced add-on of a Smart Invite (equipment, cleaning...), included in its total."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    unit_amount: MinorUnits
    quantity: int = Field(ge=1)
    amount: MinorUnits = Field(description="`unit_amount * quantity`.")


class InviteSentV1(EventModel):
    """Smart Invite: a host offered a guest a listing, time and price until `expires_at`."""

    TYPE: ClassVar[str] = "booking.invite_sent"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    invite_id: str
    host_id: str
    guest_id: str
    listing_id: str
    starts_at: datetime
    ends_at: datetime
    amount: MinorUnits = Field(description="The invited total the guest will pay.")
    currency: Currency
    expires_at: datetime
    extras: list[InvitedExtra] = Field(
        default_factory=list, description="Add-ons included in `amount`."
    )


class InviteClosedV1(EventModel):
    """A Smart Invite ended: accepted (a booking was placed), declined, withdrawn or expired."""

    TYPE: ClassVar[str] = "booking.invite_closed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    invite_id: str
    outcome: str = Field(examples=["accepted", "declined", "withdrawn", "expired"])
    booking_id: str | None = Field(default=None, description="Set when accepted.")


class BookingCompletedV1(EventModel):
    """The booked time is over: the booking is complete (payouts and reviews may follow)."""

    TYPE: ClassVar[str] = "booking.booking_completed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    host_id: str
    ended_at: datetime


class PaymentRequestedV1(EventModel):
    """The off-session charge of a confirmed booking failed: the guest must pay by `pay_by`."""

    TYPE: ClassVar[str] = "booking.payment_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str
    amount: MinorUnits
    currency: Currency
    pay_by: datetime
    reason: str = Field(examples=["card_declined", "authentication_required"])


class PaymentRetryRequestedV1(EventModel):
    """The guest pays a booking in `payment_due` on-session with this payment method."""

    TYPE: ClassVar[str] = "booking.payment_retry_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str
    payment_method: str
    attempt: int = Field(ge=1, description="Part of the retry's idempotency key.")


class SignaturesRequestedV1(EventModel):
    """Docs-before-pay: the slot is held and the guest must sign before payment is requested."""

    TYPE: ClassVar[str] = "booking.signatures_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    guest_id: str
    listing_id: str
    document_ids: list[str] = Field(min_length=1)
    sign_by: datetime = Field(description="The checkout hold ends then, signed or not.")
    group_id: str | None = Field(
        default=None, description="Set when the booking is a leg of a Linked Booking Group."
    )


# -- Linked Booking Groups: one checkout, several legs, one payment ---------------------------
# Group events are keyed by group id, so payments sees a group's requests in order; leg events
# are keyed by the leg's booking id like every booking event.


class GroupLeg(BaseModel):
    """One leg of a Linked Booking Group: its own listing, host, time range and amounts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    booking_id: str
    listing_id: str
    host_id: str
    host_account_id: str = Field(description="The host's connected account, paid this leg.")
    starts_at: datetime
    ends_at: datetime
    amount: MinorUnits = Field(description="What the guest pays for this leg.")
    platform_fee: MinorUnits = Field(description="Part of this leg's `amount` kept.")
    tax: MinorUnits = Field(default=0, description="Part of `platform_fee` that is tax.")


class GroupCheckoutRequestedV1(EventModel):
    """Every leg of a group is held (and signed, if documents were required): payments takes
    one payment for the total, on a charge without a destination (the hosts are paid per leg
    by transfers later)."""

    TYPE: ClassVar[str] = "booking.group_checkout_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    group_id: str
    guest_id: str
    amount: MinorUnits = Field(description="Total of the legs' amounts.")
    currency: Currency
    platform_fee: MinorUnits = Field(description="Total of the legs' platform fees.")
    payment_method: str = Field(examples=["pm_card_visa"])
    save_for_later: bool = Field(
        default=False,
        description="Save the payment method (SetupIntent) and charge it when the group is "
        "captured, instead of authorizing: some Request-to-Book leg's host may answer after "
        "an authorization would have lapsed.",
    )
    legs: list[GroupLeg] = Field(min_length=2)
    client_ip: str | None = Field(
        default=None, description="The IP address the guest checked out from."
    )
    user_agent: str | None = Field(
        default=None, description="The User-Agent of the guest's client at checkout."
    )


class GroupAwaitingHostsV1(EventModel):
    """The group's payment is secured; Request-to-Book legs wait for their hosts' answers."""

    TYPE: ClassVar[str] = "booking.group_awaiting_hosts"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    group_id: str
    payment_id: str
    booking_ids: list[str] = Field(min_length=1, description="The legs awaiting a host.")


class GroupCaptureRequestedV1(EventModel):
    """Every leg of the group is ready: payments captures the total (or charges the saved
    payment method). The capture is the group's commit point: on success every leg is
    confirmed at once; on failure every leg is released."""

    TYPE: ClassVar[str] = "booking.group_capture_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    group_id: str
    payment_id: str
    amount: MinorUnits
    currency: Currency


class GroupConfirmedV1(EventModel):
    """Every leg of the group is confirmed, in one transaction."""

    TYPE: ClassVar[str] = "booking.group_confirmed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    group_id: str
    payment_id: str
    booking_ids: list[str] = Field(min_length=2)
    amount: MinorUnits
    currency: Currency


class GroupFailedV1(EventModel):
    """The group checkout ended without bookings: every leg is released, and payments voids
    the group's authorization if there is one."""

    TYPE: ClassVar[str] = "booking.group_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    group_id: str
    payment_id: str | None = Field(
        default=None, description="The group's payment, if payments was asked for one."
    )
    reason: str = Field(
        description="Machine-readable reason: slot_unavailable, payment_declined, "
        "hold_expired, host_declined, request_expired, documents_declined, documents_expired, "
        "group_not_pending.",
        examples=["host_declined"],
    )
    detail: str = ""
    failed_booking_id: str | None = Field(
        default=None, description="The leg whose failure failed the group, if one did."
    )
    booking_ids: list[str] = Field(min_length=2, description="Every leg, all released.")


class DocumentsSignedV1(EventModel):
    """Every required document of a group leg is signed; the leg waits for the group's other
    legs before payment is requested."""

    TYPE: ClassVar[str] = "booking.documents_signed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    group_id: str
    envelope_id: str | None = None


class LegReadyV1(EventModel):
    """A group leg is ready to be confirmed (paid for, and accepted by its host if it is a
    Request-to-Book); it is confirmed when every leg of its group is."""

    TYPE: ClassVar[str] = "booking.leg_ready"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    group_id: str
    cause: str = Field(examples=["payment_authorized", "host_accepted"])


# -- Cancellations and refunds ------------------------------------------------------------


class RefundLine(BaseModel):
    """The refunded part of one line item of the booking's quote."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(examples=["base", "cleaning", "extra:lighting", "guest_service_fee", "tax"])
    amount: MinorUnits


class RefundRequest(BaseModel):
    """Money to give back on one payment, split the way finance reverses it:
    `amount == platform_fee + host_amount`; `tax` is the part of `platform_fee` that was tax
    (the platform collects and remits it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    refund_id: str = Field(description="Deterministic; payments' idempotency key for Stripe.")
    payment_id: str
    amount: MinorUnits = Field(description="Given back to the guest.")
    currency: Currency
    platform_fee: MinorUnits = Field(
        description="Part of `amount` taken from what the platform kept (fees and tax)."
    )
    host_amount: MinorUnits = Field(description="Part of `amount` taken from the host's share.")
    tax: MinorUnits = Field(default=0, description="Part of `platform_fee` that was tax.")
    host_account_id: str = Field(description="The host whose share is reduced.")
    lines: list[RefundLine] = Field(default_factory=list)


class BookingCancelledV1(EventModel):
    """A confirmed booking (or one leg of a group) was cancelled; `refund` is what the
    cancellation policy gives back (None: nothing). The slot is free."""

    TYPE: ClassVar[str] = "booking.booking_cancelled"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    group_id: str | None = None
    cancelled_by: str = Field(examples=["guest", "host", "admin"])
    reason: str = ""
    policy: str = Field(description="The snapshotted policy applied, `name@version`.")
    refund: RefundRequest | None = None
    additional_refunds: list[RefundRequest] = Field(
        default_factory=list,
        description="The rest of the refund, from the booking's other payments (extra charges "
        "of amendments or overtime), when `refund`'s payment did not take it all.",
    )
    host_account_id: str
    host_penalty: MinorUnits = Field(
        default=0, description="Charged to the host for cancelling a confirmed booking."
    )


# -- Amendments and overtime ------------------------------------------------------------------


class AmendmentProposedV1(EventModel):
    """A guest or host proposed to change a confirmed booking (time range, extras, guests), or
    a host reported overtime after the end; the other party accepts or rejects it."""

    TYPE: ClassVar[str] = "booking.amendment_proposed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    amendment_id: str
    booking_id: str
    kind: str = Field(examples=["change", "overtime"])
    proposed_by: str = Field(examples=["guest", "host"])
    starts_at: datetime
    ends_at: datetime
    guests: int
    extras: dict[str, int] = Field(default_factory=dict)
    delta: int = Field(description="New total minus old total, minor units (< 0: a refund).")
    currency: Currency
    respond_by: datetime | None = None


class ChargeRequestedV1(EventModel):
    """Booking asks payments to charge the guest's saved payment method off-session for an
    accepted amendment or overtime, or a damage claim (`amount` on top of what was paid).
    Payments answers with `payment_captured` v2 or `payment_failed` carrying the same
    `charge_request_id` and `subject_id`, and the purpose `reason` maps to."""

    TYPE: ClassVar[str] = "booking.charge_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    charge_request_id: str = Field(description="Deterministic; payments' idempotency key.")
    booking_id: str
    group_id: str | None = None
    payment_id: str = Field(description="The booking's payment: whose customer and card to use.")
    amount: MinorUnits
    currency: Currency
    platform_fee: MinorUnits = Field(description="Part of `amount` the platform keeps (with tax).")
    tax: MinorUnits = 0
    host_account_id: str
    reason: str = Field(
        examples=["amendment", "overtime", "deposit_claim"],
        description="What the charge is for: `amendment` or `overtime` (payments' purpose "
        "`extra_charge`), `deposit_claim` (a damage claim, purpose `deposit_claim`).",
    )
    subject_id: str | None = charge_subject_field()


class AmendmentDecidedV1(EventModel):
    """An amendment ended: `applied` (the booking changed; `refund` gives back a decrease),
    `rejected`, `failed` (the extra charge failed: the booking is as it was), `withdrawn` or
    `disputed` (overtime the guest contests)."""

    TYPE: ClassVar[str] = "booking.amendment_decided"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    amendment_id: str
    booking_id: str
    outcome: str = Field(examples=["applied", "rejected", "failed", "withdrawn", "disputed"])
    delta: int
    currency: Currency
    refund: RefundRequest | None = None
    reason: str = ""


class ReauthorizationRequestedV1(EventModel):
    """An authorization nears its limit while the booking (or group) still waits for its
    host(s): payments authorizes the same amount again off-session on the saved card, then
    cancels the old authorization (`booking.expiring_authorization_policy=reauthorize`)."""

    TYPE: ClassVar[str] = "booking.reauthorization_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str = Field(description="The booking, or for a group payment the group id.")
    group_id: str | None = None
    payment_id: str
    expiring_payment_intent_id: str = Field(
        description="The authorization being replaced; part of the idempotency key, so a "
        "second renewal of the same payment gets a key of its own."
    )


# -- Security deposits and damage claims --------------------------------------------------


class DepositReleasedV1(EventModel):
    """The booking's security deposit is released: no claim was filed in the window, or the
    claims on it are settled. Nothing more can be charged against it."""

    TYPE: ClassVar[str] = "booking.deposit_released"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    payment_id: str
    amount: MinorUnits = Field(description="The deposit the listing required.")
    charged: MinorUnits = Field(default=0, description="Charged against it by claims.")
    currency: Currency
    reason: str = Field(examples=["no_claim", "claim_settled", "booking_cancelled"])


class ClaimFiledV1(EventModel):
    """A host filed a damage claim against a booking's deposit; the guest may accept or contest
    it until `respond_by`."""

    TYPE: ClassVar[str] = "booking.claim_filed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    claim_id: str
    booking_id: str
    host_id: str
    guest_id: str
    amount: MinorUnits
    currency: Currency
    description: str
    evidence_count: int = Field(ge=0)
    respond_by: datetime


class ClaimDecidedV1(EventModel):
    """A damage claim ended: `accepted` by the guest, `decided` by an admin (a contested or
    unanswered claim), or `withdrawn` by the host. `amount` (capped at the deposit) is what is
    charged off-session; 0 charges nothing."""

    TYPE: ClassVar[str] = "booking.claim_decided"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    claim_id: str
    booking_id: str
    outcome: str = Field(examples=["accepted", "decided", "withdrawn"])
    amount: MinorUnits
    currency: Currency
    decided_by: str = Field(examples=["guest", "admin", "host"])
    charge_request_id: str | None = Field(
        default=None, description="The booking.charge_requested that takes `amount`."
    )


class SignedDocument(BaseModel):
    """One signed document and its audit trail."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str
    title: str = ""
    sha256: str | None = Field(default=None, description="Hash of the signed document.")
    signer_id: str
    signed_at: datetime
    ip_address: str | None = None
    user_agent: str | None = None


class SignaturesCompletedV1(EventModel):
    """Every document the booking required is signed (a single booking's or a group leg's),
    with each signature's audit trail: the record a dispute's evidence cites."""

    TYPE: ClassVar[str] = "booking.signatures_completed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "booking.events"

    booking_id: str
    group_id: str | None = None
    guest_id: str
    envelope_id: str | None = None
    provider: str = Field(examples=["builtin", "dropbox_sign"])
    documents: list[SignedDocument] = Field(min_length=1)
