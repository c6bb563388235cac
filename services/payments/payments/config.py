from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.settings import Duration, ServiceSettings, local_database_url


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_")

    database_url: str = Field(default_factory=lambda: local_database_url("payments"))
    http_port: int = 8001
    # PAYMENTS_JWT_SECRET (eventkit.settings): the bearer tokens the staff read API admits
    # (roles admin, finance, trust, service).
    # Empty key: the local Stripe simulator at stripe_api_base (development and tests).
    stripe_api_key: str = ""
    stripe_api_base: str = "http://127.0.0.1:12111"
    # Where File uploads (dispute evidence) go; empty: Stripe's files host when
    # stripe_api_base is Stripe's API, else stripe_api_base (the simulator takes them).
    stripe_upload_api_base: str = ""
    stripe_webhook_secret: str = "whsec_local_dev"
    # Tries at a refund before it is recorded failed (refund_failed) instead of retried. Keep it
    # at most consumer_max_attempts, or the event dead-letters first (a replay then carries on
    # counting the same refund's tries).
    refund_max_attempts: int = Field(default=4, ge=1)
    # Card authorizations lapse after about 7 days; the sweeper reports them `margin` earlier.
    authorization_lifetime_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    authorization_expiry_margin_seconds: int = Field(default=24 * 3600, ge=0)
    authorization_sweep_seconds: float = Field(default=60.0, gt=0)
    # ACH Direct Debit: how long after a debit succeeded it may still be returned (finance
    # holds the host's payout until then; `payments.funds_cleared` after it). Seconds or ISO
    # 8601 (`P5D`).
    bank_debit_return_window: Duration = Field(default=timedelta(days=5))
    bank_debit_sweep_seconds: float = Field(default=60.0, gt=0)
    # A renewed authorization's predecessor is cancelled on Stripe this long after the swap, so
    # a capture that read it just before finishes first.
    replaced_authorization_grace_seconds: int = Field(default=60, ge=0)
    # How often pending transfer reversals (refunds of shares already transferred) are made.
    transfer_reversal_sweep_seconds: float = Field(default=2.0, gt=0)
