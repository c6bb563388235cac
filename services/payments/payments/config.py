from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_")

    database_url: str = "postgresql://payments_svc:payments_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8001
    # Empty key: the local Stripe simulator at stripe_api_base (development and tests).
    stripe_api_key: str = ""
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_webhook_secret: str = "whsec_local_dev"
    # Tries at a refund before it is recorded failed (refund_failed) instead of retried. Keep it
    # at most consumer_max_attempts, or the event dead-letters first (a replay then carries on
    # counting the same refund's tries).
    refund_max_attempts: int = Field(default=4, ge=1)
    # Card authorizations lapse after about 7 days; the sweeper reports them `margin` earlier.
    authorization_lifetime_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    authorization_expiry_margin_seconds: int = Field(default=24 * 3600, ge=0)
    authorization_sweep_seconds: float = Field(default=60.0, gt=0)
