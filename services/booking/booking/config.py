from datetime import timedelta
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from booking.features.claims.domain.rules import ClaimWindows
from eventkit.settings import Duration, ServiceSettings, local_database_url


def _hours(hours: int, description: str) -> Any:
    """A window in whole seconds (at least one), `hours` long unless the setting says."""
    return Field(default=hours * 3600, ge=1, description=description)


class BookingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_")

    database_url: str = Field(default_factory=lambda: local_database_url("booking"))
    http_port: int = 8000
    hold_ttl_seconds: int = Field(
        default=900, ge=1, description="How long a checkout may hold a slot unpaid."
    )
    payment_step_limit_seconds: int = _hours(
        6,
        "How long past the hold a checkout whose payment request is still in flight at payments "
        "keeps its slot (domain/holds.py).",
    )
    hold_recheck_seconds: float = Field(
        default=30, gt=0, description="How often a run-out hold waiting for payments is looked at."
    )
    max_checkouts_in_flight: int = Field(
        default=300,
        ge=1,
        description="Past this many checkouts waiting for payments, new ones get 503 overloaded.",
    )
    admission_refresh_seconds: float = Field(
        default=0.5, gt=0, description="How often the checkouts in flight are counted."
    )
    request_window_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Overrides every listing's Request-to-Book response window (demos, tests).",
    )
    authorization_horizon_days: int = Field(
        default=6,
        ge=0,
        description="A Request-to-Book starting later than this saves the card instead of "
        "holding an authorization (card authorizations lapse after about 7 days).",
    )
    horizon_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="How far ahead a stay may be booked: every time a request names (start, "
        "end, an invite's expiry) lies within this many days (else 422 "
        "`beyond_booking_horizon`).",
    )
    expiring_authorization_policy: Literal["reauthorize", "release"] = Field(
        default="reauthorize",
        description="A card authorization nearing its limit while the host(s) still decide: "
        "reauthorize off-session on the saved card (release if that fails), or release now.",
    )
    payment_window_seconds: int = _hours(
        48,
        "How long a guest has to pay after a failed off-session charge.",
    )
    claim_window_seconds: int = _hours(
        72,
        "How long after a booking's end its host may file damage claims against "
        "the deposit; the deposit is released when it ends (claims settled).",
    )
    claim_response_window_seconds: int = _hours(
        48,
        "How long a guest has to accept or contest a claim before an admin decides.",
    )
    bank_debit_min_lead: Duration = Field(
        default=timedelta(days=5),
        description="A booking paid by bank debit (ACH) must start at least this long after "
        "checkout, so that the debit normally settles first (seconds, or ISO 8601: P5D).",
    )
    returned_debit_pay_window: Duration = Field(
        default=timedelta(hours=48),
        description="How long a guest has to pay by card after their bank debit was returned "
        "(at most until the booking starts).",
    )
    overtime_dispute_window_seconds: int = _hours(
        48,
        "How long a guest has to dispute reported overtime before it is charged.",
    )
    tax_provider: Literal["table", "stripe_tax"] = Field(
        default="table",
        description="table: versioned rates in booking.tax_rates; stripe_tax: Stripe Tax.",
    )
    stripe_tax_api_key: str = Field(default="", description="For tax_provider=stripe_tax.")
    stripe_api_base: str = Field(default="https://api.stripe.com")
    forwarded_for_hops: int = Field(
        default=0,
        ge=0,
        le=10,
        description="How many trusted reverse proxies sit in front of the gateway: the client "
        "IP recorded as evidence (checkout, mandate, signature) is the X-Forwarded-For entry "
        "that many from the right; 0: the socket peer, X-Forwarded-For ignored.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where guests reach the gateway (links)."
    )
    esign_provider: Literal["builtin", "dropbox_sign"] = Field(
        default="builtin", description="builtin: our signing page; dropbox_sign: Dropbox Sign."
    )
    dropbox_sign_api_key: str = ""
    dropbox_sign_base_url: str = "https://api.hellosign.com/v3"
    esign_secret: str = Field(
        default="dev-only-esign-secret-change-me",
        min_length=16,
        description="Keys signing-link tokens of the built-in e-sign provider.",
    )
    scheduler_poll_seconds: float = Field(default=1.0, gt=0)


def claim_windows(settings: BookingSettings | None = None) -> ClaimWindows:
    """The claim and response windows of `settings`. Without settings (a use case called by a
    test, not through bootstrap), the fields' defaults: they stay the one home of the numbers."""
    chosen = settings or BookingSettings.model_construct()
    return ClaimWindows(
        claim=timedelta(seconds=chosen.claim_window_seconds),
        response=timedelta(seconds=chosen.claim_response_window_seconds),
    )
