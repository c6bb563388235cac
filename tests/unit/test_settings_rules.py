"""Rules across settings: the local system's database (`MP_DB`), the hold and payment step."""

from __future__ import annotations

import pytest

from finance.config import FinanceSettings


def test_the_default_database_is_the_local_systems_named_by_mp_db(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MP_DB", raising=False)
    monkeypatch.delenv("FINANCE_DATABASE_URL", raising=False)
    assert FinanceSettings().database_url.endswith("@127.0.0.1:5432/marketplace")
    monkeypatch.setenv("MP_DB", "second_system")
    assert FinanceSettings().database_url == (
        "postgresql://finance_svc:finance_svc@127.0.0.1:5432/second_system"
    )
    monkeypatch.setenv("FINANCE_DATABASE_URL", "postgresql://elsewhere/db")
    assert FinanceSettings().database_url == "postgresql://elsewhere/db"


def test_booking_refuses_a_payment_step_limit_shorter_than_the_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Payments may capture an Instant Book authorization up to half the hold after the
    checkout: the booking must keep its slot for the payment step at least the hold."""
    from booking.config import BookingSettings

    monkeypatch.setenv("BOOKING_HOLD_TTL_SECONDS", "900")
    monkeypatch.setenv("BOOKING_PAYMENT_STEP_LIMIT_SECONDS", "600")
    with pytest.raises(ValueError, match="payment_step_limit_seconds"):
        BookingSettings()
    monkeypatch.setenv("BOOKING_PAYMENT_STEP_LIMIT_SECONDS", "900")
    assert BookingSettings().payment_step_limit_seconds == 900
