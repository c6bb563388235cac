"""Events produced by the payments service on `payments.events`, keyed by payment id."""

from typing import ClassVar

from pydantic import Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits


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
