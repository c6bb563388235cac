import pytest

from payments.config import PaymentsSettings


def test_refund_attempts_default_to_four_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PAYMENTS_REFUND_MAX_ATTEMPTS", raising=False)
    assert PaymentsSettings().refund_max_attempts == 4
    monkeypatch.setenv("PAYMENTS_REFUND_MAX_ATTEMPTS", "7")
    assert PaymentsSettings().refund_max_attempts == 7
    monkeypatch.setenv("PAYMENTS_REFUND_MAX_ATTEMPTS", "0")
    with pytest.raises(ValueError):
        PaymentsSettings()
